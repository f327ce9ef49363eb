// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_lock: as kedr_race_racy, but both updates hold race_lock
 * (spin_lock/spin_unlock: _raw_spin_lock/_raw_spin_unlock, recorded as
 * ACQUIRE/RELEASE by the locks payload). No race.
 */
#include <linux/init.h>
#include <linux/spinlock.h>

static DEFINE_SPINLOCK(race_lock);
static struct race_data {
	int value;
} race_shared;

static noinline void race_step_a(void)
{
	spin_lock(&race_lock);
	race_shared.value++;		/* shared: a */
	spin_unlock(&race_lock);
}

static noinline void race_step_b(void)
{
	spin_lock(&race_lock);
	race_shared.value += 2;	/* shared: b */
	spin_unlock(&race_lock);
}

static int race_setup(void)
{
	return 0;
}

static void race_teardown(void)
{
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: a shared field under a spinlock");
