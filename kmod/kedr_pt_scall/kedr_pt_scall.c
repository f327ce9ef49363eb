// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_scall: a KEDR test target for static calls updated while the
 * module runs.
 *
 *	echo one > /sys/kernel/debug/kedr_pt_scall/ctl	calls go to ..._one()
 *	echo two > /sys/kernel/debug/kedr_pt_scall/ctl	calls go to ..._two()
 *	cat /sys/kernel/debug/kedr_pt_scall/ctl		"<mid> <first>"
 *
 * "mid" is what a static call after some code returned, "first" what a
 * notrace function whose first instruction is the static call returned.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kedr_pt_ctl.h"

static int kedr_pt_calls;
static int kedr_pt_val;

static noinline void kedr_pt_scall_one(void)
{
	WRITE_ONCE(kedr_pt_val, 1);
}

static noinline void kedr_pt_scall_two(void)
{
	WRITE_ONCE(kedr_pt_val, 2);
}

DEFINE_STATIC_CALL(kedr_pt_call, kedr_pt_scall_one);

static noinline int kedr_pt_scall_mid(int x)
{
	kedr_pt_calls += x;
	WRITE_ONCE(kedr_pt_val, 0);
	static_call(kedr_pt_call)();
	return READ_ONCE(kedr_pt_val);
}

/* No fentry, no frame: the static call is the first instruction. */
static noinline notrace int kedr_pt_scall_first(void)
{
	static_call(kedr_pt_call)();
	return READ_ONCE(kedr_pt_val);
}

static ssize_t kedr_pt_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[16];
	size_t n = min(count, sizeof(buf) - 1);

	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = '\0';
	strim(buf);
	if (!strcmp(buf, "one"))
		static_call_update(kedr_pt_call, kedr_pt_scall_one);
	else if (!strcmp(buf, "two"))
		static_call_update(kedr_pt_call, kedr_pt_scall_two);
	else
		return -EINVAL;
	return count;
}

static ssize_t kedr_pt_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char buf[32];
	int mid = kedr_pt_scall_mid(1), first, len;

	WRITE_ONCE(kedr_pt_val, 0);
	first = kedr_pt_scall_first();
	len = scnprintf(buf, sizeof(buf), "%d %d\n", mid, first);

	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.write = kedr_pt_write,
	.read = kedr_pt_read,
};

MODULE_DESCRIPTION("KEDR test target: a static call updated at run time");
MODULE_LICENSE("GPL");
