// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_ftrace: a KEDR test target for ftrace and kprobes on instrumented
 * functions, and for the cost of entering a copy.
 *
 *	echo N > /sys/kernel/debug/kedr_pt_ftrace/ctl	kedr_pt_ftrace_work(N)
 *	echo "loop N" > .../ctl		N calls of kedr_pt_ftrace_leaf(), timed
 *					(through a pointer: they enter the
 *					original, as calls from outside do)
 *	cat /sys/kernel/debug/kedr_pt_ftrace/ctl	"<calls> <sum> <ns>"
 *
 * ns: the last loop's time in nanoseconds.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kedr_pt_ctl.h"

static int kedr_pt_calls;
static long kedr_pt_sum;
static u64 kedr_pt_ns;

noinline long kedr_pt_ftrace_work(long n)
{
	kedr_pt_calls++;
	kedr_pt_sum += n;
	return kedr_pt_sum;
}

static noinline long kedr_pt_ftrace_leaf(long n)
{
	return n + 1;
}

static long (*kedr_pt_leaf_ptr)(long) = kedr_pt_ftrace_leaf;

static noinline void kedr_pt_ftrace_loop(long n)
{
	u64 start = ktime_get_ns();
	long i, x = 0;

	for (i = 0; i < n; i++)
		x = READ_ONCE(kedr_pt_leaf_ptr)(x);
	kedr_pt_ns = ktime_get_ns() - start;
	kedr_pt_sum += x;
}

static ssize_t kedr_pt_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	char buf[32];
	size_t n = min(count, sizeof(buf) - 1);
	long v;

	if (copy_from_user(buf, ubuf, n))
		return -EFAULT;
	buf[n] = '\0';
	if (sscanf(buf, "loop %li", &v) == 1)
		kedr_pt_ftrace_loop(v);
	else if (!kstrtol(strim(buf), 0, &v))
		kedr_pt_ftrace_work(v);
	else
		return -EINVAL;
	return count;
}

static ssize_t kedr_pt_read(struct file *file, char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	char buf[64];
	int len = scnprintf(buf, sizeof(buf), "%d %ld %llu\n", kedr_pt_calls,
			    kedr_pt_sum, kedr_pt_ns);

	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations kedr_pt_fops = {
	.owner = THIS_MODULE,
	.write = kedr_pt_write,
	.read = kedr_pt_read,
};

MODULE_DESCRIPTION("KEDR test target: ftrace and kprobes on its functions");
MODULE_LICENSE("GPL");
