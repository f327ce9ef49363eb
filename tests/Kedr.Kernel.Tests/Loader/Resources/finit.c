// SPDX-License-Identifier: GPL-2.0
/*
 * finit MODULE.ko PARAMS: loads a module with one finit_module(2) call.
 *
 * busybox insmod calls init_module(2) again after any finit_module(2)
 * failure, so each blob the loader refuses was loaded twice; under TCG a
 * refused load costs about half a second of the fuzz run's guest time.
 * Exit status: 0 loaded, 1 refused (errno printed), 2 bad use.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: finit MODULE.ko PARAMS\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror(argv[1]);
		return 2;
	}
	if (syscall(SYS_finit_module, fd, argv[2], 0) != 0) {
		perror("finit_module");
		return 1;
	}
	return 0;
}
