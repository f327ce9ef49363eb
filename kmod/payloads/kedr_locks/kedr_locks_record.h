/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_locks: synchronization events in kedr_sample's own stream, where
 * they are ordered with the memory events of the same CPU
 * (kmod/kedr_record.h). An acquire is recorded once the lock is held, a
 * release before it is let go; a signal before the wake-up, a wait once
 * it is over. @pc is the call's original address in the target.
 */
#ifndef KEDR_LOCKS_RECORD_H
#define KEDR_LOCKS_RECORD_H

#include <linux/bio.h>
#include <linux/err.h>
#include <linux/fs.h>
#include "kedr_payload.h"
#include "kedr_record.h"

static inline void kedr_locks_acquire(const struct kedr_call_info *info,
				      const void *lock, u32 how)
{
	kedr_record_event(KEDR_REC_ACQUIRE, info->pc, (unsigned long)lock, how);
}

static inline void kedr_locks_release(const struct kedr_call_info *info,
				      const void *lock, u32 how)
{
	kedr_record_event(KEDR_REC_RELEASE, info->pc, (unsigned long)lock, how);
}

static inline void kedr_locks_signal(const struct kedr_call_info *info,
				     const void *obj)
{
	kedr_record_event(KEDR_REC_SIGNAL, info->pc, (unsigned long)obj,
			  KEDR_SIGNAL_HANDOFF);
}

static inline void kedr_locks_wait(const struct kedr_call_info *info,
				   const void *obj)
{
	kedr_record_event(KEDR_REC_WAIT, info->pc, (unsigned long)obj, 0);
}

/*
 * Work handed to a callback of the target (queue_work_on, mod_timer,
 * kthread_create_on_node...): a SIGNAL on the callback's address, the
 * target's original function (what the work item or timer holds). The detector takes the callback's
 * next entry event as the matching WAIT (docs/races.md).
 */
static inline void kedr_locks_handoff(const struct kedr_call_info *info,
				      const void *callback)
{
	kedr_record_event(KEDR_REC_SIGNAL, info->pc, (unsigned long)callback,
			  KEDR_SIGNAL_HANDOFF);
}

/*
 * The other way: a call that returns only once the runs of a callback of the
 * target ended (cancel_work_sync, flush_work, timer_delete_sync...), after
 * it returned: a WAIT with KEDR_WAIT_CALLBACK_END on the callback's address.
 * The detector orders it after the exit events that ended the callback's
 * runs (docs/races.md, "Hand-off to a callback").
 */
static inline void kedr_locks_wait_end(const struct kedr_call_info *info,
				       const void *callback)
{
	kedr_record_event(KEDR_REC_WAIT, info->pc, (unsigned long)callback,
			  KEDR_WAIT_CALLBACK_END);
}

/*
 * The thread function of kthread_create_on_node() and kthread_create_on_cpu()
 * (a spec names a function pointer's type by a typedef). Creating the thread
 * hands work to that function in the new task: the same SIGNAL on its
 * address, matched by its entry event (kthread_run() is a macro over
 * kthread_create_on_node(), which is variadic: its handler is a trampoline).
 */
typedef int (*kedr_locks_threadfn)(void *data);

/*
 * An inode made visible to other tasks (__insert_inode_hash, d_instantiate,
 * unlock_new_inode...), before the call: a SIGNAL with KEDR_SIGNAL_PUBLISH
 * on the inode. The detector orders later accesses to the traced block
 * holding it after this (docs/races.md, "Publication"). A NULL inode (a
 * negative dentry) or an error pointer publishes nothing.
 */
static inline void kedr_locks_publish(const struct kedr_call_info *info,
				      const struct inode *inode)
{
	if (IS_ERR_OR_NULL(inode))
		return;
	kedr_record_event(KEDR_REC_SIGNAL, info->pc, (unsigned long)inode,
			  KEDR_SIGNAL_PUBLISH);
}

/*
 * A bio from a bio_set (bio_alloc_bioset, bio_alloc_clone, bio_split),
 * after the call: an ALLOC of the whole block the set's mempool gave, the
 * front pad (the caller's own structure around the bio) and the inline
 * vecs included. The block layer frees it (bio_put() at the end of the
 * I/O) and the set gives it again, calls the target does not make: without
 * this, the detector takes two uses of one recycled bio for a race.
 */
static inline void kedr_locks_fresh_bio(const struct kedr_call_info *info,
					const struct bio *bio,
					const struct bio_set *bs)
{
	if (IS_ERR_OR_NULL(bio) || !bs)
		return;
	kedr_record_event(KEDR_REC_ALLOC, info->pc,
			  (unsigned long)bio - bs->front_pad,
			  bs->front_pad + sizeof(*bio) + bs->back_pad);
}

#endif /* KEDR_LOCKS_RECORD_H */
