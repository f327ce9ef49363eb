// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_init: a KEDR test target for init and exit code.
 *
 * Its init calls __init helpers (one calling another) and keeps what they
 * computed; its exit calls an __exit helper. Read the result with
 *	cat /sys/module/kedr_pt_init/parameters/result	(42 if init ran)
 * and see "exit done: 42" in dmesg at rmmod.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

static int result;
module_param(result, int, 0444);
MODULE_PARM_DESC(result, "what init computed (read-only)");

static int seed = 5;
module_param(seed, int, 0444);
MODULE_PARM_DESC(seed, "input of the init helpers");

static noinline int __init kedr_pt_init_leaf(int x)
{
	return x * 8;
}

static noinline int __init kedr_pt_init_mid(int x)
{
	return kedr_pt_init_leaf(x) + 2;
}

static noinline void __exit kedr_pt_exit_helper(int x)
{
	pr_info("exit done: %d\n", x);
}

static int __init kedr_pt_init(void)
{
	result = kedr_pt_init_mid(seed);
	return 0;
}

static void __exit kedr_pt_exit(void)
{
	kedr_pt_exit_helper(result);
}

module_init(kedr_pt_init);
module_exit(kedr_pt_exit);
MODULE_DESCRIPTION("KEDR test target: init and exit code");
MODULE_LICENSE("GPL");
