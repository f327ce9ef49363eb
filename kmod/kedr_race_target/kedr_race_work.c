// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_work: thread A writes race_shared.value once, then hands it to a
 * work item (queue_work, i.e. queue_work_on: SIGNAL on the work function's
 * address; the function's entry is the WAIT), which updates it. A never touches it again, B never does:
 * no race.
 */
#include <linux/init.h>
#include <linux/workqueue.h>

static struct race_data {
	int value;
} race_shared;

static noinline void race_work_fn(struct work_struct *work)
{
	race_shared.value += 2;	/* shared: b */
}

static DECLARE_WORK(race_work, race_work_fn);

static noinline void race_step_a(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	race_shared.value = 1;		/* shared: a */
	queue_work(system_wq, &race_work);
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
	cancel_work_sync(&race_work);
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: a shared field handed to a work item");
