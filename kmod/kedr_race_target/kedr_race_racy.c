// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_racy: threads A and B update race_shared.value with nothing
 * ordering them: a data race between the lines marked "race: a" and
 * "race: b" (the tests find the lines by these marks).
 *
 * Besides, threads C and D, both bound to CPU 0, update that CPU's copy of
 * a per-CPU counter with one instruction each (this_cpu_inc(),
 * this_cpu_add(): %gs-relative, not locked), C after reading a field of its
 * own task_struct: one address from two threads with nothing ordering
 * them, but never at once (docs/races.md, "Per-CPU data"): no race. Their
 * lines are marked "per-cpu: c", "per-cpu: d" and "own task: c".
 */
#include <linux/compiler.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/percpu.h>
#include <linux/sched.h>

#define RACE_PINNED_STEPS 50

static struct race_data {
	int value;
} race_shared;

static DEFINE_PER_CPU(unsigned int, race_percpu);
static struct task_struct *race_thread_c_task;
static struct task_struct *race_thread_d_task;

static noinline void race_step_a(void)
{
	race_shared.value++; /* race: a */
}

static noinline void race_step_b(void)
{
	race_shared.value += 2; /* race: b */
}

static noinline void race_step_c(void)
{
	if (READ_ONCE(current->flags) & PF_KTHREAD) /* own task: c */
		this_cpu_inc(race_percpu); /* per-cpu: c */
}

static noinline void race_step_d(void)
{
	this_cpu_add(race_percpu, 2); /* per-cpu: d */
}

static int race_thread_c(void *unused)
{
	int i;

	for (i = 0; i < RACE_PINNED_STEPS && !kthread_should_stop(); i++) {
		race_step_c();
		usleep_range(200, 400);
	}
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static int race_thread_d(void *unused)
{
	int i;

	for (i = 0; i < RACE_PINNED_STEPS && !kthread_should_stop(); i++) {
		race_step_d();
		usleep_range(200, 400);
	}
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static int race_setup(void)
{
	race_thread_c_task = kthread_run_on_cpu(race_thread_c, NULL, 0,
						KBUILD_MODNAME "_c/%u");
	if (IS_ERR(race_thread_c_task))
		return PTR_ERR(race_thread_c_task);
	race_thread_d_task = kthread_run_on_cpu(race_thread_d, NULL, 0,
						KBUILD_MODNAME "_d/%u");
	if (IS_ERR(race_thread_d_task)) {
		kthread_stop(race_thread_c_task);
		return PTR_ERR(race_thread_d_task);
	}
	return 0;
}

static void race_teardown(void)
{
	kthread_stop(race_thread_d_task);
	kthread_stop(race_thread_c_task);
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: an unsynchronized shared field");
