// SPDX-License-Identifier: GPL-2.0
/*
 * kmod/payloads/kedr_locks/kedr_locks_vfs_set.h built for user space
 * (LocksVfsSetTests): the kernel primitives it uses, single-threaded, and
 * kedr_vfs_step() counting the slots a call reads. Prints one line per
 * figure: "NAME VALUE".
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
	int counter;
} atomic_t;
#define atomic_read(v) ((v)->counter)
#define atomic_set(v, i) ((v)->counter = (i))
#define atomic_inc(v) ((v)->counter++)
#define atomic_dec(v) ((v)->counter--)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define cmpxchg(p, o, n) __sync_val_compare_and_swap(p, o, n)
/* include/linux/hash.h, 64-bit */
#define GOLDEN_RATIO_64 0x61C8864680B583EBull
static inline unsigned int hash_long(unsigned long val, unsigned int bits)
{
	return (unsigned int)((val * GOLDEN_RATIO_64) >> (64 - bits));
}

static unsigned long steps;
#define kedr_vfs_step() (steps++)

#include "kedr_locks_vfs_set.h"

static struct kedr_vfs_set set;

/* Inode-like addresses: objects of a 1 KiB slab, none used twice. */
#define INODE(n) (0xffff888100000000UL + (unsigned long)(n) * 0x400 + 0x88)
/* Other rwsems of the kernel (mm_structs, ...): never in the set. */
#define OTHER(n) (0xffff888900000000UL + (unsigned long)(n) * 0x440 + 0x70)

static unsigned long max_steps_known(unsigned long from, unsigned long to,
				     bool inode, unsigned long *wrong)
{
	unsigned long n, max = 0;

	for (n = from; n < to; n++) {
		unsigned long key = inode ? INODE(n) : OTHER(n);
		bool known;

		steps = 0;
		known = kedr_vfs_known(&set, (const void *)key);
		if (steps > max)
			max = steps;
		if (known != inode)
			(*wrong)++;
	}
	return max;
}

int main(void)
{
	unsigned long n, next = 0, wrong = 0, round;

	/*
	 * Churn: 40 rounds of 1000 inodes created and destroyed (files made
	 * and deleted, or evicted), 40000 addresses in all, none at once.
	 */
	for (round = 0; round < 40; round++) {
		for (n = 0; n < 1000; n++)
			kedr_vfs_add(&set, INODE(next + n));
		for (n = 0; n < 1000; n++)
			kedr_vfs_forget(&set, INODE(next + n));
		next += 1000;
	}
	/* Then 1000 live inodes: all kept, all found, nothing else found. */
	for (n = 0; n < 1000; n++)
		kedr_vfs_add(&set, INODE(next + n));
	printf("churn_full %d\n", atomic_read(&set.full));
	printf("churn_live %d\n", atomic_read(&set.live));
	printf("churn_max_steps_live %lu\n",
	       max_steps_known(next, next + 1000, true, &wrong));
	printf("churn_max_steps_other %lu\n",
	       max_steps_known(0, 100000, false, &wrong));
	printf("churn_wrong %lu\n", wrong);

	/* More live inodes than slots: the rest counted, lookups bounded. */
	memset(&set, 0, sizeof(set));
	wrong = 0;
	for (n = 0; n < 2 * KEDR_VFS_SLOTS; n++)
		kedr_vfs_add(&set, INODE(n));
	printf("over_kept_plus_full %d\n",
	       atomic_read(&set.live) + atomic_read(&set.full));
	printf("over_max_steps_other %lu\n",
	       max_steps_known(0, 100000, false, &wrong));
	printf("over_wrong %lu\n", wrong);
	printf("slots %u\n", KEDR_VFS_SLOTS);

	/*
	 * An inode added and never forgotten (inode_init_always() failed:
	 * alloc_inode() frees it without __destroy_inode()), then the slab's
	 * next object at that address, added and destroyed: not in the set.
	 */
	memset(&set, 0, sizeof(set));
	kedr_vfs_add(&set, INODE(7));
	kedr_vfs_add(&set, INODE(7));
	kedr_vfs_forget(&set, INODE(7));
	printf("again_known %d\n", kedr_vfs_known(&set, (const void *)INODE(7)));
	printf("again_live %d\n", atomic_read(&set.live));

	/* iput(NULL) is allowed: NULL is no inode's, whatever is live. */
	kedr_vfs_add(&set, INODE(9));
	printf("null_known %d\n", kedr_vfs_known(&set, NULL));
	return 0;
}
