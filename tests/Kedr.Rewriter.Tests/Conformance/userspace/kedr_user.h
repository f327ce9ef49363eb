/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of the kernel's API for kmod/kedr_sample/kedr_blob.c to build
 * and run in user space (BlobConformanceTests): every <linux/...> and
 * <asm/...> header it includes is this file. Allocation is malloc, a
 * pr_err() line goes to kedr_user_last_error, the CRC is computed bit by bit.
 */
#ifndef KEDR_USER_H
#define KEDR_USER_H

#define _GNU_SOURCE	/* qsort_r() */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * <linux/errno.h> is this file too (kedr_insn.c includes it), so the host's
 * <errno.h>, which includes it, cannot be used: the values of
 * include/uapi/asm-generic/errno-base.h.
 */
#define ENOENT 2
#define ENOMEM 12
#define EINVAL 22

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef int32_t s32;
/* What kmod/kedr_types.h takes from <linux/types.h>, this file here. */
typedef uint8_t __u8;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;
/* kedr_sample.h counts live objects; the parser itself never does. */
typedef struct {
	int counter;
} atomic_t;
#define atomic_inc(v) ((v)->counter++)
#define atomic_dec(v) ((v)->counter--)

struct module;

#define U32_MAX UINT32_MAX
#define SZ_1M 0x00100000
#define GFP_KERNEL 0
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define min_t(t, a, b) ((t)(a) < (t)(b) ? (t)(a) : (t)(b))
#define min(a, b) ((a) < (b) ? (a) : (b))
#define max(a, b) ((a) > (b) ? (a) : (b))
/* <asm/text-patching.h>: a jmp rel32. */
#define JMP32_INSN_SIZE 5
#define CALL_INSN_OPCODE 0xE8
#define CALL_INSN_SIZE 5
#define is_power_of_2(n) ((n) != 0 && ((n) & ((n) - 1)) == 0)
#define cond_resched() do { } while (0)
#define DECLARE_STATIC_KEY_FALSE(name) extern int name
/* kedr_sample.h's kedr_record_room(), which the parser never calls. */
#define DECLARE_PER_CPU(type, name) extern type name
#define this_cpu_read(var) (var)
#define unlikely(x) (x)
#undef static_assert
#define static_assert(expr, ...) _Static_assert(expr, #expr)

static inline u16 get_unaligned_le16(const void *p)
{
	const u8 *b = p;

	return (u16)(b[0] | b[1] << 8);
}

static inline u32 get_unaligned_le32(const void *p)
{
	const u8 *b = p;

	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static inline u64 get_unaligned_le64(const void *p)
{
	return get_unaligned_le32(p) |
	       (u64)get_unaligned_le32((const u8 *)p + 4) << 32;
}

static inline void *kvmalloc(size_t n, int gfp)
{
	(void)gfp;
	return malloc(n ? n : 1);
}

static inline void *kvcalloc(size_t n, size_t size, int gfp)
{
	(void)gfp;
	return calloc(n ? n : 1, size ? size : 1);
}

static inline void *kvmalloc_array(size_t n, size_t size, int gfp)
{
	return kvcalloc(n, size, gfp);
}

#define kzalloc(n, gfp) kvcalloc(1, (n), (gfp))
#define kvfree free
#define kfree free

#define BITS_PER_LONG (8 * sizeof(unsigned long))
#define BITS_TO_LONGS(n) (((n) + BITS_PER_LONG - 1) / BITS_PER_LONG)

static inline unsigned long *bitmap_zalloc(unsigned int bits, int gfp)
{
	return kvcalloc((bits + BITS_PER_LONG - 1) / BITS_PER_LONG,
			sizeof(unsigned long), gfp);
}

#define bitmap_free free

static inline bool __test_and_set_bit(unsigned long nr, unsigned long *map)
{
	unsigned long bit = 1UL << (nr % BITS_PER_LONG);
	bool old = map[nr / BITS_PER_LONG] & bit;

	map[nr / BITS_PER_LONG] |= bit;
	return old;
}

static inline void __set_bit(unsigned long nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] |= 1UL << (nr % BITS_PER_LONG);
}

static inline void __clear_bit(unsigned long nr, unsigned long *map)
{
	map[nr / BITS_PER_LONG] &= ~(1UL << (nr % BITS_PER_LONG));
}

static inline bool test_bit(unsigned long nr, const unsigned long *map)
{
	return map[nr / BITS_PER_LONG] & (1UL << (nr % BITS_PER_LONG));
}

/*
 * lib/sort.c's sort_r(): any correct sort will do (kedr_blob.c's orders
 * are total); glibc's qsort_r() takes the same comparison with @priv last.
 */
typedef int (*cmp_r_func_t)(const void *a, const void *b, const void *priv);

static inline void sort_r(void *base, size_t num, size_t size,
			  cmp_r_func_t cmp, void *swap, const void *priv)
{
	(void)swap;
	qsort_r(base, num, size,
		(int (*)(const void *, const void *, void *))cmp,
		(void *)priv);
}

/*
 * lib/crc32.c's __crc32c_le(): CRC-32C (reflected polynomial 0x82F63B78),
 * no inversion; a byte at a time through a table made here.
 */
static inline u32 __crc32c_le(u32 crc, const unsigned char *p, size_t len)
{
	static u32 table[256];

	if (!table[1]) {
		for (u32 i = 0; i < 256; i++) {
			u32 c = i;

			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (c & 1 ? 0x82F63B78u : 0);
			table[i] = c;
		}
	}
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

enum lockdown_reason { LOCKDOWN_MODULE_SIGNATURE = 1 };
static inline int security_locked_down(enum lockdown_reason what)
{
	(void)what;
	return 0;
}

struct firmware {
	size_t size;
	const u8 *data;
};

static inline int firmware_request_nowarn(const struct firmware **fw,
					  const char *name, void *dev)
{
	(void)fw; (void)name; (void)dev;
	return -ENOENT;
}

static inline void release_firmware(const struct firmware *fw)
{
	(void)fw;
}

/* The last line kedr_blob.c logged, without its prefix. */
static char kedr_user_last_error[1024];

struct va_format {
	const char *fmt;
	va_list *va;
};

/*
 * pr_err(): kedr_blob.c's lines are "blob %s is malformed: %pV\n" (a
 * nested format) and plain formats; %pV is expanded here, the newline
 * dropped.
 */
static __printf(1, 2) void kedr_user_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (!strcmp(fmt, "blob %s is malformed: %pV\n")) {
		const char *name = va_arg(ap, const char *);
		struct va_format *v = va_arg(ap, struct va_format *);
		int n = snprintf(kedr_user_last_error,
				 sizeof(kedr_user_last_error),
				 "blob %s is malformed: ", name);

		vsnprintf(kedr_user_last_error + n,
			  sizeof(kedr_user_last_error) - n, v->fmt, *v->va);
	} else {
		vsnprintf(kedr_user_last_error, sizeof(kedr_user_last_error),
			  fmt, ap);
	}
	va_end(ap);
	kedr_user_last_error[strcspn(kedr_user_last_error, "\n")] = 0;
}

/* kedr_blob.c's "%pV" is only ever in the format above. */
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#define pr_err(fmt, ...) kedr_user_log(fmt, ##__VA_ARGS__)

#endif /* KEDR_USER_H */
