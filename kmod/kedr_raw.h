/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reading kedr_sample's per_cpu/cpuN/ring: CPU N's raw stream (the one
 * per_cpu/cpuN/raw gives with read()) through a mapping of the ring
 * (docs/record-format.md, "Reading a raw stream through its mapping").
 * A file apart from raw: under lockdown debugfs refuses to open a file with
 * mmap or ioctls (EPERM), and raw stays readable there.
 *
 * One definition shared by the recorder (kmod/kedr_sample/kedr_recorder.c)
 * and `kedr record` (Kedr.Cli/Record/RawLayout.cs describes every field and
 * constant; RawLayoutTests checks them against this header). Native-endian
 * (x86-64): these structs only cross the ioctl() boundary, never a file.
 *
 * On an open ring file of CPU N (it has no read(): EINVAL):
 *	KEDR_RAW_IOC_INFO: the ring's geometry (struct kedr_raw_info).
 *	mmap(NULL, map_size, PROT_READ, MAP_SHARED, fd, 0): the whole ring,
 *		read-only; slot i's struct kedr_record is at byte
 *		i * record_size. Any other offset or length, MAP_PRIVATE:
 *		EINVAL; PROT_EXEC: EPERM; PROT_WRITE: EACCES on an O_RDONLY
 *		fd (mmap() refuses before kedr_sample is asked), EINVAL on an
 *		O_RDWR one; mprotect() to PROT_WRITE or PROT_EXEC: EACCES.
 *	KEDR_RAW_IOC_GET: waits as read() does (O_NONBLOCK: EAGAIN; a
 *		signal: -ERESTARTSYS, so restarted under SA_RESTART, else
 *		EINTR; harmless, as GET changes nothing a new GET would not
 *		do again, and PUT waits only for the lock, before it changes
 *		anything) and says where the next records are: @pos (the
 *		stream's cursor), @index (its slot) and @count, up to the
 *		ring's end (no wrap) and to @count as given (0: no limit).
 *		@count 0 back: the end of the stream (where read() returns 0).
 *	KEDR_RAW_IOC_PUT: after the caller copied those records (@pos and
 *		@count of the GET, or fewer records): the cursor moves past them,
 *		unless the writer may have overwritten some while they were
 *		copied (a stalled reader is overwritten: see kedr_recorder.c);
 *		then @flags has KEDR_RAW_TORN, the cursor stays and the copy is
 *		to be thrown away: the next GET gives the oldest records still
 *		intact. EINVAL: @pos is not the cursor (another reader of this
 *		CPU moved it) or the records go past the span the last GET on
 *		this CPU gave (a read() or a GET since replaces that span).
 *		EFAULT: nothing changed (PUT writes back @flags only, and makes
 *		sure it can before it moves the cursor).
 * Unknown commands: ENOTTY (as from per_cpu/cpuN/raw or a regular file: a
 * reader falls back to read() of raw).
 */
#ifndef KEDR_RAW_H
#define KEDR_RAW_H

/*
 * The kernel's types, in user space too (<linux/types.h> of the kernel's
 * headers): an ioctl ABI, native-endian, not a file format (kedr_types.h).
 */
#include <linux/ioctl.h>
#include <linux/types.h>

struct kedr_raw_info {
	__u32 record_size;	/* sizeof(struct kedr_record) */
	__u32 nr_records;	/* slots in the ring */
	__u64 map_size;		/* nr_records * record_size up to whole pages */
};

struct kedr_raw_span {
	__u64 pos;		/* GET: out, the cursor; PUT: in, as GET gave */
	__u32 index;		/* GET: out, pos % nr_records; PUT: ignored */
	__u32 count;		/* GET: in, at most (0: any), out, records; PUT: in */
	__u32 flags;		/* in: 0; PUT: out, KEDR_RAW_TORN or 0 */
	__u32 reserved;		/* 0 */
};

#define KEDR_RAW_TORN		0x1

#define KEDR_RAW_IOC_INFO	_IOR('k', 0x40, struct kedr_raw_info)
#define KEDR_RAW_IOC_GET	_IOWR('k', 0x41, struct kedr_raw_span)
#define KEDR_RAW_IOC_PUT	_IOWR('k', 0x42, struct kedr_raw_span)

#endif /* KEDR_RAW_H */
