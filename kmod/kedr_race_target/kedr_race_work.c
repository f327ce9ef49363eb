// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_race_work: three fields, each written by two threads that a hand-off
 * orders, so no race:
 * - thread A writes race_shared.value once, then hands it to a work item
 *   (queue_work, i.e. queue_work_on: SIGNAL on the work function's address;
 *   the function's entry is the WAIT), which updates it. A never touches it
 *   again, B never does.
 * - thread B writes race_kth.value once, then starts a kthread with
 *   kthread_run() (kthread_create_on_node(), variadic: SIGNAL on the thread
 *   function's address, its entry is the WAIT), which updates it. The thread
 *   updates it only when its name is "krk7", formatted from the variable
 *   arguments: the call reached kthread_create_on_node() untouched.
 * - a task writes race_dev.value through this module's debugfs file, closes
 *   it, and only then can the module be removed (the open file held a
 *   reference on the module, fops.owner): exit writes it too. The rule:
 *   a task's return from the module happens before exit.
 * - the work item writes race_end.value too; exit writes it after
 *   cancel_work_sync() returned (a WAIT for the end of the work function's
 *   runs: its exit events). The exit rule does not order a hand-off's
 *   callback before exit: only that wait does.
 */
#include <linux/init.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/workqueue.h>

static struct race_data {
	int value;
} race_shared, race_kth, race_dev;

/*
 * A field alone in its 8-byte shadow cell: the detector keeps one last write
 * per cell, so a write of race_dev next to it would replace the work item's.
 */
static struct race_end_data {
	long value;
} race_end;

static struct task_struct *race_kth_task;
static struct dentry *race_dev_file;

static noinline void race_work_fn(struct work_struct *work)
{
	race_shared.value += 2;	/* shared: b */
	race_end.value = 1;	/* shared: g */
}

static DECLARE_WORK(race_work, race_work_fn);

static noinline int race_kth_fn(void *unused)
{
	if (!strcmp(current->comm, "krk7"))
		race_kth.value += 2;	/* shared: d */
	while (!kthread_should_stop())
		msleep(20);
	return 0;
}

static ssize_t race_dev_write(struct file *file, const char __user *buf,
			      size_t len, loff_t *pos)
{
	race_dev.value = 1;	/* shared: e */
	return len;
}

static const struct file_operations race_dev_fops = {
	.owner = THIS_MODULE,
	.write = race_dev_write,
};

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
	static bool done;
	struct task_struct *task;

	if (done)
		return;
	done = true;
	race_kth.value = 1;		/* shared: c */
	task = kthread_run(race_kth_fn, NULL, "%s%d", "krk", 7);
	if (!IS_ERR(task))
		xchg(&race_kth_task, task);
}

static int race_setup(void)
{
	race_dev_file = debugfs_create_file(KBUILD_MODNAME, 0200, NULL, NULL,
					    &race_dev_fops);
	return 0;
}

static void race_teardown(void)
{
	struct task_struct *task = xchg(&race_kth_task, NULL);

	cancel_work_sync(&race_work);
	race_end.value += 2;	/* shared: h */
	if (task)
		kthread_stop(task);
	race_dev.value += 2;	/* shared: f */
	debugfs_remove(race_dev_file);
}

#include "kedr_race_threads.h"
MODULE_DESCRIPTION("KEDR race target: fields handed to a work item, a kthread, exit, back from the work item");
