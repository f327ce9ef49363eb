// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_warn: a KEDR test target for the bug table and stack traces.
 *
 *	echo warn > /sys/kernel/debug/kedr_pt_warn/ctl	 WARN_ON(), then go on
 *	echo bug > /sys/kernel/debug/kedr_pt_warn/ctl	 BUG(): kills the writer
 *	echo stack > /sys/kernel/debug/kedr_pt_warn/ctl	 dump_stack()
 *	cat /sys/kernel/debug/kedr_pt_warn/ctl		 "<warns> <after>"
 *
 * Every command goes through kedr_pt_warn_outer() -> kedr_pt_warn_inner(),
 * so a stack trace from a copy must show both names, reliably (no '?').
 * "after" counts the commands that came back from kedr_pt_warn_inner(): a
 * WARN_ON() must return and let it count.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bug.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kedr_pt_ctl.h"

static int kedr_pt_warns;
static int kedr_pt_after;

static noinline int kedr_pt_warn_inner(int cmd)
{
	switch (cmd) {
	case 1:
		/* cmd comes from user space: the compiler cannot drop it. */
		if (WARN_ON(cmd == 1))
			kedr_pt_warns++;
		return 0;
	case 2:
		BUG_ON(cmd == 2);
		return 0;
	case 3:
		dump_stack();
		return 0;
	}
	return -EINVAL;
}

static noinline int kedr_pt_warn_outer(int cmd)
{
	int ret = kedr_pt_warn_inner(cmd);

	if (!ret)
		kedr_pt_after++;
	return ret;
}

static ssize_t kedr_pt_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[16];
	size_t n = min(count, sizeof(buf) - 1);
	int cmd, ret;

	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = '\0';
	strim(buf);
	if (!strcmp(buf, "warn"))
		cmd = 1;
	else if (!strcmp(buf, "bug"))
		cmd = 2;
	else if (!strcmp(buf, "stack"))
		cmd = 3;
	else
		return -EINVAL;
	ret = kedr_pt_warn_outer(cmd);
	return ret ? ret : count;
}

static ssize_t kedr_pt_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char buf[32];
	int len = scnprintf(buf, sizeof(buf), "%d %d\n", kedr_pt_warns,
			    kedr_pt_after);

	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.write = kedr_pt_write,
	.read = kedr_pt_read,
};

MODULE_DESCRIPTION("KEDR test target: WARN_ON, BUG, dump_stack");
MODULE_LICENSE("GPL");
