/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_locks_vfs.c's set of the target's i_rwsem addresses, on its own so
 * that a user-space harness can build it too (LocksVfsSetTests: without
 * __KERNEL__ the includer provides READ_ONCE(), WRITE_ONCE(), cmpxchg(),
 * atomic_t and hash_long()).
 *
 * Open addressing, linear probing. A slot holds an i_rwsem address (the
 * inode is live), that address | KEDR_VFS_DEAD (it was), or 0 (never
 * used since the target loaded). A slot once used keeps its address, so a
 * lookup stops at the first 0 and an inode allocated again at the same
 * address (the slab's next object there) takes its slot back. Lookups
 * take no lock; inserts claim an empty slot with cmpxchg().
 */
#ifndef KEDR_LOCKS_VFS_SET_H
#define KEDR_LOCKS_VFS_SET_H

#ifdef __KERNEL__
#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/hash.h>
#endif

#define KEDR_VFS_BITS	14
#define KEDR_VFS_SLOTS	(1U << KEDR_VFS_BITS)
#define KEDR_VFS_DEAD	1UL

#ifndef kedr_vfs_step
#define kedr_vfs_step() do { } while (0)	/* the harness counts slots */
#endif

struct kedr_vfs_set {
	unsigned long sems[KEDR_VFS_SLOTS];
	atomic_t live;		/* live slots: 0, nothing to look up */
	atomic_t full;		/* inodes not kept: the table was full */
};

static inline unsigned long *kedr_vfs_slot(struct kedr_vfs_set *set,
					   unsigned long key)
{
	unsigned int i = hash_long(key, KEDR_VFS_BITS), n;

	for (n = 0; n < KEDR_VFS_SLOTS; n++) {
		unsigned long v = READ_ONCE(set->sems[i]);

		kedr_vfs_step();
		if (!v || (v & ~KEDR_VFS_DEAD) == key)
			return &set->sems[i];
		i = (i + 1) & (KEDR_VFS_SLOTS - 1);
	}
	return NULL;
}

static inline bool kedr_vfs_known(struct kedr_vfs_set *set, const void *sem)
{
	unsigned long *s;

	if (!atomic_read(&set->live))
		return false;
	s = kedr_vfs_slot(set, (unsigned long)sem);
	return s && READ_ONCE(*s) == (unsigned long)sem;
}

static inline void kedr_vfs_add(struct kedr_vfs_set *set, unsigned long key)
{
	unsigned int i = hash_long(key, KEDR_VFS_BITS), n;

	for (n = 0; n < KEDR_VFS_SLOTS; n++) {
		unsigned long v = READ_ONCE(set->sems[i]);

		if (!v)
			v = cmpxchg(&set->sems[i], 0, key);
		if (!v || v == (key | KEDR_VFS_DEAD)) {
			WRITE_ONCE(set->sems[i], key);
			atomic_inc(&set->live);
			return;
		}
		if (v == key)
			return;
		i = (i + 1) & (KEDR_VFS_SLOTS - 1);
	}
	atomic_inc(&set->full);
}

static inline void kedr_vfs_forget(struct kedr_vfs_set *set,
				   unsigned long key)
{
	unsigned long *s = kedr_vfs_slot(set, key);

	if (s && READ_ONCE(*s) == key) {
		WRITE_ONCE(*s, key | KEDR_VFS_DEAD);
		atomic_dec(&set->live);
	}
}

#endif /* KEDR_LOCKS_VFS_SET_H */
