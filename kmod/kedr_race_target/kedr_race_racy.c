// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_racy: threads A and B update race_shared.value with nothing
 * ordering them: a data race between the lines marked "race: a" and
 * "race: b" (the tests find the lines by these marks).
 */
#include <linux/compiler.h>
#include <linux/init.h>

static struct race_data {
	int value;
} race_shared;

static noinline void race_step_a(void)
{
	race_shared.value++; /* race: a */
}

static noinline void race_step_b(void)
{
	race_shared.value += 2; /* race: b */
}

static int race_setup(void)
{
	return 0;
}

static void race_teardown(void)
{
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: an unsynchronized shared field");
