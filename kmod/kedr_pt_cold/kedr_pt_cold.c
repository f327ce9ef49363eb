// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_cold: a KEDR test target with a .cold part (GCC moves the
 * unlikely path of kedr_pt_cold_work() to kedr_pt_cold_work.cold in
 * .text.unlikely, reached by jumps, not calls).
 *
 *	echo N > /sys/kernel/debug/kedr_pt_cold/ctl	run with N
 *	cat /sys/kernel/debug/kedr_pt_cold/ctl		"<hot> <cold> <sum>"
 *
 * N < 0 takes the unlikely path.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "kedr_pt_ctl.h"

static int kedr_pt_hot, kedr_pt_cold_runs;
static long kedr_pt_sum;

static noinline long kedr_pt_cold_work(long n)
{
	if (unlikely(n < 0)) {
		kedr_pt_cold_runs++;
		pr_info("cold path with %ld\n", n);
		return -n * 3;
	}
	kedr_pt_hot++;
	return n * 2;
}

static ssize_t kedr_pt_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	long n;
	int err = kstrtol_from_user(ubuf, count, 0, &n);

	if (err)
		return err;
	kedr_pt_sum += kedr_pt_cold_work(n);
	return count;
}

static ssize_t kedr_pt_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char buf[64];
	int len = scnprintf(buf, sizeof(buf), "%d %d %ld\n", kedr_pt_hot,
			    kedr_pt_cold_runs, kedr_pt_sum);

	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.write = kedr_pt_write,
	.read = kedr_pt_read,
};

MODULE_DESCRIPTION("KEDR test target: a function with a .cold part");
MODULE_LICENSE("GPL");
