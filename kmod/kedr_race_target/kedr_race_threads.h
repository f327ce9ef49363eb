/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The scaffold every race target shares: init starts two kthreads, A and B;
 * each calls its step function KEDR_RACE_STEPS times, sleeping a little in
 * between, then waits to be stopped; exit stops both. A target defines
 * race_step_a() and race_step_b() (and race_setup()/race_teardown()) before
 * including this file. Included once, by one .c file per module.
 */
#ifndef KEDR_RACE_THREADS_H
#define KEDR_RACE_THREADS_H

#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/module.h>

#define KEDR_RACE_STEPS 50

static struct task_struct *race_thread_a_task;
static struct task_struct *race_thread_b_task;

static int race_thread_a(void *unused)
{
	int i;

	for (i = 0; i < KEDR_RACE_STEPS && !kthread_should_stop(); i++) {
		race_step_a();
		usleep_range(200, 400);
	}
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static int race_thread_b(void *unused)
{
	int i;

	for (i = 0; i < KEDR_RACE_STEPS && !kthread_should_stop(); i++) {
		race_step_b();
		usleep_range(200, 400);
	}
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static int __init race_init(void)
{
	int ret = race_setup();

	if (ret)
		return ret;
	race_thread_a_task = kthread_run(race_thread_a, NULL, "%s_a",
					 KBUILD_MODNAME);
	if (IS_ERR(race_thread_a_task)) {
		ret = PTR_ERR(race_thread_a_task);
		goto out_teardown;
	}
	race_thread_b_task = kthread_run(race_thread_b, NULL, "%s_b",
					 KBUILD_MODNAME);
	if (IS_ERR(race_thread_b_task)) {
		ret = PTR_ERR(race_thread_b_task);
		goto out_stop_a;
	}
	return 0;

out_stop_a:
	kthread_stop(race_thread_a_task);
out_teardown:
	race_teardown();
	return ret;
}

static void __exit race_exit(void)
{
	kthread_stop(race_thread_b_task);
	kthread_stop(race_thread_a_task);
	race_teardown();
}

module_init(race_init);
module_exit(race_exit);
MODULE_LICENSE("GPL");

#endif /* KEDR_RACE_THREADS_H */
