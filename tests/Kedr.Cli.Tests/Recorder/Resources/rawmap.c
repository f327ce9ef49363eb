// SPDX-License-Identifier: GPL-2.0
/*
 * rawmap FILE DIR torn|hold|info: the mapped reading of a per_cpu/cpuN/ring
 * file (kmod/kedr_raw.h) step by step, for RecorderVmTests. Prints one line per
 * step on stdout ("NAME values" or "NAME errno N"); meets the guest script
 * through files in DIR (it creates DIR/NAME when it reaches NAME, waits for
 * the script's DIR/go and DIR/release). Built static for the test guest.
 *
 * torn: the ioctls' and mmap's refusals (a PUT of more than GET granted, a
 *	PUT whose answer cannot be written changes nothing), a GET, a copy made
 *	after the script let the writer overtake it (PUT must say
 *	KEDR_RAW_TORN), the next GET and a whole copy, then every record to the
 *	end of the stream, checking that the sequence numbers follow the
 *	positions.
 * hold: maps the ring, waits in GET (the script unloads kedr_sample with
 *	rmmod -f), closes the file and keeps the mapping until DIR/release.
 * info: KEDR_RAW_IOC_INFO only (per_cpu/cpuN/raw has none: ENOTTY).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
/* Included with kmod/'s headers, as an ioctl caller may: no clash. */
#include <linux/types.h>

#include "kedr_raw.h"
#include "kedr_record.h"

static const char *dir;

static void mark(const char *name)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	if (fd >= 0)
		close(fd);
	fflush(stdout);
}

static void wait_for(const char *name)
{
	char path[4096];
	struct stat st;
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	for (i = 0; i < 6000 && stat(path, &st); i++)
		usleep(10000);
}

/* "NAME errno N" for a call expected to fail (N 0 if it did not). */
static void refused(const char *name, int ret)
{
	printf("%s errno %d\n", name, ret < 0 ? errno : 0);
}

static int get(int fd, struct kedr_raw_span *s, __u32 max)
{
	memset(s, 0, sizeof(*s));
	s->count = max;
	return ioctl(fd, KEDR_RAW_IOC_GET, s);
}

/* Copies the span out of the ring and PUTs it: PUT's flags, or -1. */
static int copy_put(int fd, const char *ring, struct kedr_raw_span *s,
		    struct kedr_record *buf)
{
	memcpy(buf, ring + (size_t)s->index * sizeof(*buf),
	       (size_t)s->count * sizeof(*buf));
	if (ioctl(fd, KEDR_RAW_IOC_PUT, s))
		return -1;
	return s->flags;
}

/* The first record whose seq is not @pos's low 32 bits + its index, or -1. */
static long seq_gap(const struct kedr_record *r, __u32 n, __u64 pos)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (r[i].seq != (__u32)(pos + i))
			return i;
	return -1;
}

/*
 * The refusals that need a file open for writing (root may open it so):
 * otherwise mmap() itself refuses a shared writable mapping, and clears
 * VM_MAYWRITE, before kedr_sample is asked.
 */
static void writable(const char *path, const struct kedr_raw_info *info)
{
	int fd = open(path, O_RDWR);
	void *ring;

	if (fd < 0) {
		printf("open-rw errno %d\n", errno);
		return;
	}
	refused("mmap-writable", mmap(NULL, info->map_size, PROT_READ | PROT_WRITE,
				      MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
	ring = mmap(NULL, info->map_size, PROT_READ, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		printf("mmap-rw errno %d\n", errno);
	} else {
		refused("mprotect-write", mprotect(ring, info->map_size,
						   PROT_READ | PROT_WRITE));
		munmap(ring, info->map_size);
	}
	close(fd);
}

/*
 * A PUT of the span @s (as GET gave it) whose answer cannot be written
 * (a read-only page): EFAULT, and the cursor has not moved (the next GET
 * gives the same position, and *@s is that GET's span; the records are
 * there, so it does not wait).
 */
static void put_efault(int fd, struct kedr_raw_span *s)
{
	struct kedr_raw_span *ro = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 pos = s->pos;

	if (ro == MAP_FAILED) {
		printf("put-efault-map errno %d\n", errno);
		return;
	}
	*ro = *s;
	mprotect(ro, 4096, PROT_READ);
	refused("put-efault", ioctl(fd, KEDR_RAW_IOC_PUT, ro));
	munmap(ro, 4096);
	/* Not blocking: a PUT that moved the cursor past all there is. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (get(fd, s, 0))
		printf("put-efault-get errno %d\n", errno);
	else
		printf("put-efault-moved %llu\n",
		       (unsigned long long)(s->pos - pos));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

/*
 * read() of raw (next to the ring file @path) into NULL, with records
 * there: EFAULT, not a GET.
 */
static void read_null(const char *path)
{
	const char *slash = strrchr(path, '/');
	char raw[4096];
	int fd;

	snprintf(raw, sizeof(raw), "%.*s/raw",
		 slash ? (int)(slash - path) : 1, slash ? path : ".");
	fd = open(raw, O_RDONLY);
	if (fd < 0) {
		printf("open-raw errno %d\n", errno);
		return;
	}
	refused("read-null", syscall(SYS_read, fd, NULL,
				     sizeof(struct kedr_record)) < 0 ? -1 : 0);
	close(fd);
}

static int torn(const char *path, int fd, const struct kedr_raw_info *info)
{
	struct kedr_record *buf = calloc(info->nr_records, sizeof(*buf));
	__u64 next, drained = 0, torn = 0, gaps = 0;
	struct kedr_raw_span s, bad;
	char *ring;
	int flags;

	if (!buf)
		return 1;
	refused("mmap-private", mmap(NULL, info->map_size, PROT_READ,
				     MAP_PRIVATE, fd, 0) == MAP_FAILED ? -1 : 0);
	refused("mmap-larger", mmap(NULL, info->map_size + 4096, PROT_READ,
				    MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
	refused("mmap-offset", mmap(NULL, info->map_size, PROT_READ,
				    MAP_SHARED, fd, 4096) == MAP_FAILED ? -1 : 0);
	/* Writable from an O_RDONLY fd: mmap() itself says EACCES. */
	refused("mmap-write-rdonly", mmap(NULL, info->map_size,
					  PROT_READ | PROT_WRITE, MAP_SHARED,
					  fd, 0) == MAP_FAILED ? -1 : 0);
	refused("mmap-exec", mmap(NULL, info->map_size, PROT_READ | PROT_EXEC,
				  MAP_SHARED, fd, 0) == MAP_FAILED ? -1 : 0);
	ring = mmap(NULL, info->map_size, PROT_READ, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		printf("mmap errno %d\n", errno);
		return 1;
	}
	refused("mprotect-exec", mprotect(ring, info->map_size,
					  PROT_READ | PROT_EXEC));
	refused("unknown-ioctl", ioctl(fd, _IO('k', 0x43), 0));
	refused("get-null", ioctl(fd, KEDR_RAW_IOC_GET, NULL));
	memset(&bad, 0, sizeof(bad));
	bad.flags = 1;
	refused("get-flags", ioctl(fd, KEDR_RAW_IOC_GET, &bad));
	mark("opened");

	/* Blocks until the script's work has given records; then all 60. */
	if (get(fd, &s, 0)) {
		printf("get0 errno %d\n", errno);
		return 1;
	}
	usleep(300000);
	/* Granted one record of the 60: a PUT of two is refused. */
	if (get(fd, &s, 1)) {
		printf("get-one errno %d\n", errno);
		return 1;
	}
	bad = s;
	bad.count = 2;
	refused("put-grant", ioctl(fd, KEDR_RAW_IOC_PUT, &bad));
	if (get(fd, &s, 0)) {
		printf("get1 errno %d\n", errno);
		return 1;
	}
	printf("get1 %llu %u %u\n", (unsigned long long)s.pos, s.index, s.count);
	put_efault(fd, &s);
	/* ring has no read(). */
	refused("read-ring", read(fd, buf, sizeof(*buf)) < 0 ? -1 : 0);
	read_null(path);
	/* That read() took back GET's span: GET it again (the same). */
	if (get(fd, &s, 0)) {
		printf("get1-again errno %d\n", errno);
		return 1;
	}
	bad = s;
	bad.pos++;
	refused("put-pos", ioctl(fd, KEDR_RAW_IOC_PUT, &bad));
	bad = s;
	bad.count = info->nr_records + 1;
	refused("put-count", ioctl(fd, KEDR_RAW_IOC_PUT, &bad));
	mark("got");
	/* Meanwhile the stream stalls and the writer wraps the ring. */
	wait_for("go");
	flags = copy_put(fd, ring, &s, buf);
	printf("put1 %d\n", flags);

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (get(fd, &s, 0)) {
		printf("get2 errno %d\n", errno);
		return 1;
	}
	flags = copy_put(fd, ring, &s, buf);
	printf("get2 %llu %u %u\nput2 %d %ld\n", (unsigned long long)s.pos,
	       s.index, s.count, flags, seq_gap(buf, s.count, s.pos));
	mark("drain");

	/* To the end of the stream (the script unloads the target). */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	next = s.pos + s.count;
	for (;;) {
		if (get(fd, &s, 0)) {
			printf("drain errno %d\n", errno);
			return 1;
		}
		if (!s.count)
			break;
		flags = copy_put(fd, ring, &s, buf);
		if (flags < 0) {
			printf("drain-put errno %d\n", errno);
			return 1;
		}
		if (flags) {
			torn++;
			continue;
		}
		if (s.pos != next || seq_gap(buf, s.count, s.pos) >= 0)
			gaps++;
		next = s.pos + s.count;
		drained += s.count;
	}
	printf("end %llu %llu %llu %llu\n", (unsigned long long)drained,
	       (unsigned long long)next, (unsigned long long)torn,
	       (unsigned long long)gaps);
	munmap(ring, info->map_size);
	free(buf);
	return 0;
}

static int hold(int fd, const struct kedr_raw_info *info)
{
	struct kedr_raw_span s;
	volatile const char *ring;
	int ret;

	ring = mmap(NULL, info->map_size, PROT_READ, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		printf("mmap errno %d\n", errno);
		return 1;
	}
	mark("mapped");
	ret = get(fd, &s, 0);
	printf("hold-get %d %u\n", ret ? errno : 0, s.count);
	close(fd);
	mark("closed");
	wait_for("release");
	printf("hold-read %d\n", ring[info->map_size - 1]);
	munmap((void *)ring, info->map_size);
	printf("unmapped\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct kedr_raw_info info;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: rawmap FILE DIR torn|hold|info\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	dir = argv[2];
	fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		printf("open errno %d\n", errno);
		return 1;
	}
	if (ioctl(fd, KEDR_RAW_IOC_INFO, &info)) {
		printf("info errno %d\n", errno);
		return 1;
	}
	printf("info %u %u %llu\n", info.record_size, info.nr_records,
	       (unsigned long long)info.map_size);
	if (!strcmp(argv[3], "info"))
		return 0;
	if (!strcmp(argv[3], "hold"))
		return hold(fd, &info);
	writable(argv[1], &info);
	return torn(argv[1], fd, &info);
}
