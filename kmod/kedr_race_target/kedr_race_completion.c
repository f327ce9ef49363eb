// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_completion: thread A writes race_shared.value once and calls
 * complete(); thread B waits for the completion, then updates the field
 * (complete: SIGNAL on the completion; wait_for_completion returning: WAIT).
 * No race.
 */
#include <linux/completion.h>
#include <linux/init.h>

static DECLARE_COMPLETION(race_done);
static struct race_data {
	int value;
} race_shared;

static noinline void race_step_a(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	race_shared.value = 1;		/* shared: a */
	complete(&race_done);
}

static noinline void race_step_b(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	wait_for_completion(&race_done);
	race_shared.value += 2;	/* shared: b */
}

static int race_setup(void)
{
	return 0;
}

static void race_teardown(void)
{
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: a shared field handed over by a completion");
