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
	kedr_record_event(KEDR_REC_SIGNAL, info->pc, (unsigned long)obj, 0);
}

static inline void kedr_locks_wait(const struct kedr_call_info *info,
				   const void *obj)
{
	kedr_record_event(KEDR_REC_WAIT, info->pc, (unsigned long)obj, 0);
}

/*
 * Work handed to a callback of the target (queue_work_on, mod_timer...):
 * a SIGNAL on the callback's address, the target's original function
 * (what the work item or timer holds). The detector takes the callback's
 * next entry event as the matching WAIT (docs/races.md).
 */
static inline void kedr_locks_handoff(const struct kedr_call_info *info,
				      const void *callback)
{
	kedr_record_event(KEDR_REC_SIGNAL, info->pc, (unsigned long)callback,
			  0);
}

#endif /* KEDR_LOCKS_RECORD_H */
