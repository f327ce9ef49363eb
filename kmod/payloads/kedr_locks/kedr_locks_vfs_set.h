/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_locks_vfs.c's set of the target's i_rwsem addresses, on its own so
 * that a user-space harness can build it too (LocksVfsSetTests: without
 * __KERNEL__ the includer provides READ_ONCE(), WRITE_ONCE(), cmpxchg(),
 * atomic_t and hash_long()).
 *
 * Open addressing, linear probing within a window of KEDR_VFS_PROBE slots
 * from the key's hash: every lookup reads at most that many, whatever the
 * table went through (it runs on every rwsem operation of the kernel). A
 * slot holds an i_rwsem address (the inode is live), KEDR_VFS_DEAD (one
 * was: a tombstone, which the next insert along it takes), or 0 (never
 * used since the target loaded). Slots never go back to 0 and an insert
 * takes the first tombstone or 0 of its window, so a lookup stops at the
 * first 0. An inode whose window has neither is not kept: counted in
 * @full, its operations not recorded. Lookups take no lock; inserts claim
 * a slot with cmpxchg().
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
#define KEDR_VFS_DEAD	1UL	/* no i_rwsem address: they are aligned */
#define KEDR_VFS_PROBE	32

#ifndef kedr_vfs_step
#define kedr_vfs_step() do { } while (0)	/* the harness counts slots */
#endif

struct kedr_vfs_set {
	unsigned long sems[KEDR_VFS_SLOTS];
	atomic_t live;		/* live slots: 0, nothing to look up */
	atomic_t full;		/* inodes not kept: the table was full */
};

/* The live slot of @key, or NULL; 0 (iput(NULL)) is never in the set. */
static inline unsigned long *kedr_vfs_slot(struct kedr_vfs_set *set,
					   unsigned long key)
{
	unsigned int i = hash_long(key, KEDR_VFS_BITS), n;

	if (!key)
		return NULL;
	for (n = 0; n < KEDR_VFS_PROBE; n++) {
		unsigned long v = READ_ONCE(set->sems[i]);

		kedr_vfs_step();
		if (v == key)
			return &set->sems[i];
		if (!v)
			break;
		i = (i + 1) & (KEDR_VFS_SLOTS - 1);
	}
	return NULL;
}

static inline bool kedr_vfs_known(struct kedr_vfs_set *set, const void *sem)
{
	if (!atomic_read(&set->live))
		return false;
	return kedr_vfs_slot(set, (unsigned long)sem);
}

/*
 * A new inode's i_rwsem. It may be in the set already: alloc_inode() frees
 * an inode whose inode_init_always() failed without __destroy_inode(), and
 * the slab's next object there is added again; kept once, it goes at the
 * next __destroy_inode() there.
 */
static inline void kedr_vfs_add(struct kedr_vfs_set *set, unsigned long key)
{
	unsigned int i = hash_long(key, KEDR_VFS_BITS), n;

	if (kedr_vfs_slot(set, key))
		return;
	for (n = 0; n < KEDR_VFS_PROBE; n++) {
		unsigned long v = READ_ONCE(set->sems[i]);

		if ((!v || v == KEDR_VFS_DEAD) &&
		    cmpxchg(&set->sems[i], v, key) == v) {
			atomic_inc(&set->live);
			return;
		}
		i = (i + 1) & (KEDR_VFS_SLOTS - 1);
	}
	atomic_inc(&set->full);
}

static inline void kedr_vfs_forget(struct kedr_vfs_set *set,
				   unsigned long key)
{
	unsigned long *s = kedr_vfs_slot(set, key);

	if (s && cmpxchg(s, key, KEDR_VFS_DEAD) == key)
		atomic_dec(&set->live);
}

#endif /* KEDR_LOCKS_VFS_SET_H */
