// SPDX-License-Identifier: GPL-2.0
/*
 * Host driver for InsnLengthTests: kmod/kedr_sample/kedr_insn.c built for
 * user space. Reads a code image (argv[1]), then "OFFSET END" pairs from
 * stdin, one a line, and prints kedr_insn_len() of the bytes at OFFSET with
 * END - OFFSET of them readable, one a line.
 */
#include <stdio.h>
#include <stdlib.h>

typedef unsigned char u8;
int kedr_insn_len(const u8 *p, unsigned int avail);

int main(int argc, char **argv)
{
	FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
	long size, off, end;
	u8 *image;

	if (!f || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0)
		return 2;
	rewind(f);
	image = malloc(size + 1);
	if (!image || fread(image, 1, size, f) != (size_t)size)
		return 2;
	while (scanf("%ld %ld", &off, &end) == 2) {
		if (off < 0 || end < off || end > size)
			return 2;
		printf("%d\n", kedr_insn_len(image + off, end - off));
	}
	return 0;
}
