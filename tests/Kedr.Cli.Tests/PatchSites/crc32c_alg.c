// SPDX-License-Identifier: GPL-2.0
/*
 * Guest program for LandingPadTests (built static on the host): hashes
 * buffers with the kernel's "crc32c" through AF_ALG and compares each digest
 * with a bitwise CRC-32C computed here. The lengths make crc_pcl (the
 * crc32c_intel module's assembly) branch through its jump table to every
 * label it can reach from one page-sized update: crc_pcl takes floor(rest /
 * 24) 24-byte chunks through the table, rest < 3072, for updates of 512 bytes
 * or more; one update never crosses a page (the kernel's hash walk).
 *
 * Prints "checked N mismatches M" and exits 0 if M is 0.
 */
#include <linux/if_alg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_ALG
#define AF_ALG 38
#endif

static uint32_t crc32c_sw(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xffffffffu;

	while (n--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & -(crc & 1));
	}
	return ~crc;
}

static int alg_fd(void)
{
	struct sockaddr_alg sa = { .salg_family = AF_ALG };
	int s = socket(AF_ALG, SOCK_SEQPACKET, 0);

	strcpy((char *)sa.salg_type, "hash");
	strcpy((char *)sa.salg_name, "crc32c");
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("AF_ALG crc32c");
		exit(2);
	}
	return s;
}

int main(void)
{
	static unsigned char page[8192] __attribute__((aligned(4096)));
	int s = alg_fd(), checked = 0, mismatches = 0;

	if (crc32c_sw((const unsigned char *)"123456789", 9) != 0xe3069283u) {
		fprintf(stderr, "bitwise CRC-32C is wrong\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i * 131 + (i >> 7) * 17 + 5);
	/* chunks 8..127: 3072 + 24c + 12 (c < 21) or 24c + 12 (c >= 21) bytes */
	for (int c = 8; c <= 127; c++) {
		for (int off = 0; off <= 5; off += 5) {
			size_t len = (c < 21 ? 3072 : 0) + 24 * c + 12;
			unsigned char *buf = page + 4096 * (c & 1) + off;
			uint32_t want, got;
			int fd;

			if (off && len + off > 4096)
				continue;
			want = crc32c_sw(buf, len);
			fd = accept(s, NULL, 0);
			if (fd < 0 || write(fd, buf, len) != (ssize_t)len ||
			    read(fd, &got, 4) != 4) {
				perror("AF_ALG I/O");
				return 2;
			}
			close(fd);
			checked++;
			if (got != want) {
				mismatches++;
				printf("len %zu off %d: got %08x want %08x\n",
				       len, off, got, want);
			}
		}
	}
	printf("checked %d mismatches %d\n", checked, mismatches);
	return mismatches != 0;
}
