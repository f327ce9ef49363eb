// SPDX-License-Identifier: GPL-2.0
/*
 * nbread FILE: reads FILE opened with O_NONBLOCK until a read fails or
 * returns 0, copying what it read to stdout; then prints how it stopped on
 * stderr: "EAGAIN", "EOF" or "errno N". Built static for the test guest,
 * whose busybox cannot open a file with O_NONBLOCK.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[4096];
	ssize_t n;
	int fd;

	if (argc != 2) {
		fprintf(stderr, "usage: nbread FILE\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "open: errno %d\n", errno);
		return 1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(1, buf, n) != n)
			return 1;
	if (n == 0)
		fprintf(stderr, "EOF\n");
	else if (errno == EAGAIN)
		fprintf(stderr, "EAGAIN\n");
	else
		fprintf(stderr, "errno %d\n", errno);
	return 0;
}
