// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_timer: thread A writes race_shared.value once and arms a timer
 * (mod_timer: SIGNAL on the callback's address; its entry is the WAIT); the
 * callback, in softirq context, updates the field. No race.
 */
#include <linux/init.h>
#include <linux/jiffies.h>
#include <linux/timer.h>

static struct race_data {
	int value;
} race_shared;

static noinline void race_timer_fn(struct timer_list *t)
{
	race_shared.value += 2;	/* shared: b */
}

static DEFINE_TIMER(race_timer, race_timer_fn);

static noinline void race_step_a(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	race_shared.value = 1;		/* shared: a */
	mod_timer(&race_timer, jiffies + 1);
}

static noinline void race_step_b(void)
{
}

static int race_setup(void)
{
	return 0;
}

static void race_teardown(void)
{
	del_timer_sync(&race_timer);
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: a shared field handed to a timer");
