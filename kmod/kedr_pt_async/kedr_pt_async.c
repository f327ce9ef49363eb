// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_async: a KEDR test target for async work scheduled by init and
 * exit (async_schedule()), which the kernel waits for only after the
 * module notifiers (async_synchronize_full() in do_init_module() and
 * delete_module()).
 *
 * Its init schedules work that sleeps, then calls another __init function,
 * and returns at once; its exit does the same with an ordinary function.
 * Read the result with
 *	cat /sys/module/kedr_pt_async/parameters/result	(42 once init is done)
 * and see "async init done: 42" at insmod, "async exit done: 43" at rmmod.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/async.h>
#include <linux/delay.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int result;
module_param(result, int, 0444);
MODULE_PARM_DESC(result, "what the async init work computed (read-only)");

static unsigned int delay_ms = 500;
module_param(delay_ms, uint, 0444);
MODULE_PARM_DESC(delay_ms, "how long the async work sleeps first (default: 500)");

static noinline int __init kedr_pt_async_init_leaf(int x)
{
	return x * 8 + 2;
}

static void __init kedr_pt_async_init_work(void *data, async_cookie_t cookie)
{
	msleep(delay_ms);
	WRITE_ONCE(result, kedr_pt_async_init_leaf(5));
	pr_info("async init done: %d\n", result);
}

static noinline int kedr_pt_async_exit_leaf(int x)
{
	return x + 1;
}

static void kedr_pt_async_exit_work(void *data, async_cookie_t cookie)
{
	msleep(delay_ms);
	pr_info("async exit done: %d\n",
		kedr_pt_async_exit_leaf(READ_ONCE(result)));
}

static int __init kedr_pt_async_init(void)
{
	async_schedule(kedr_pt_async_init_work, NULL);
	return 0;
}

static void __exit kedr_pt_async_exit(void)
{
	async_schedule(kedr_pt_async_exit_work, NULL);
}

module_init(kedr_pt_async_init);
module_exit(kedr_pt_async_exit);
MODULE_DESCRIPTION("KEDR test target: async work scheduled by init and exit");
MODULE_LICENSE("GPL");
