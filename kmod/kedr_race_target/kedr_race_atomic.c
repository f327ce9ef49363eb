// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_atomic: as kedr_race_racy, but both updates are made holding a
 * lock built from atomics: atomic_cmpxchg() takes it, atomic_xchg() gives
 * it back. Both are locked read-modify-writes of race_busy (LOCKED_UPDATE
 * records before them, LOCKED_DONE after), which the model orders one after
 * the other. No race.
 */
#include <linux/atomic.h>
#include <linux/init.h>
#include <linux/processor.h>

static atomic_t race_busy = ATOMIC_INIT(0);
static struct race_data {
	int value;
} race_shared;

static noinline void race_lock(void)
{
	while (atomic_cmpxchg(&race_busy, 0, 1) != 0)
		cpu_relax();
}

static noinline void race_unlock(void)
{
	atomic_xchg(&race_busy, 0);
}

static noinline void race_step_a(void)
{
	race_lock();
	race_shared.value++;	/* shared: a */
	race_unlock();
}

static noinline void race_step_b(void)
{
	race_lock();
	race_shared.value += 2;	/* shared: b */
	race_unlock();
}

static int race_setup(void)
{
	return 0;
}

static void race_teardown(void)
{
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: a shared field under an atomic lock");
