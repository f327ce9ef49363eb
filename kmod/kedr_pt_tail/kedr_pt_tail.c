// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_tail: a read that ends in a tail call of a sleeping kernel
 * function, for the live-detach test of a payload's handler.
 * /dev/kedr_pt_tail: read() sleeps sleep_ms milliseconds in
 * schedule_timeout_interruptible() and returns what it returns (0: EOF).
 * gcc compiles the call to a jmp (the test checks with objdump): in the
 * copies it is a jmp to the import stub, so a payload's handler for
 * schedule_timeout_interruptible runs with no return address in the copies
 * on its stack.
 *
 * write() counts in a notrace function (parameter writes): a function
 * without an fentry site, entered through a jmp written at its entry when
 * kedr_sample attaches at COMING, for the test of detaching such a target.
 * With end_ms set it first sleeps that long in kedr_pt_endstack_sleep()
 * (kedr_pt_endstack, through symbol_get(): not a dependency), where a walk
 * of the writer's stack ends, above the copy of write(). With name set it
 * formats a name with kasprintf(), a variadic function (the test payload
 * kedr_pt_varpay's pre handler sleeps in it).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "kedr_pt_endstack.h"

static unsigned int sleep_ms = 3000;
module_param(sleep_ms, uint, 0644);
MODULE_PARM_DESC(sleep_ms, "How long a read sleeps (default: 3000)");

static unsigned int end_ms;
module_param(end_ms, uint, 0644);
MODULE_PARM_DESC(end_ms, "How long a write sleeps in kedr_pt_endstack (default: 0)");

static bool name;
module_param(name, bool, 0644);
MODULE_PARM_DESC(name, "Whether a write formats a name with kasprintf() (default: 0)");

static unsigned int writes;
module_param(writes, uint, 0444);
MODULE_PARM_DESC(writes, "Writes so far");

static noinline notrace void kedr_pt_tail_count(void)
{
	WRITE_ONCE(writes, READ_ONCE(writes) + 1);
}

static noinline ssize_t kedr_pt_tail_write(struct file *f,
					   const char __user *buf,
					   size_t count, loff_t *pos)
{
	unsigned int ms = READ_ONCE(end_ms);
	void (*sleep)(unsigned int ms);

	if (ms) {
		sleep = symbol_get(kedr_pt_endstack_sleep);
		if (!sleep)
			return -ENOENT;
		sleep(ms);
		symbol_put(kedr_pt_endstack_sleep);
	}
	if (READ_ONCE(name)) {
		char *s = kasprintf(GFP_KERNEL, "%s-%u", KBUILD_MODNAME, writes);

		if (!s)
			return -ENOMEM;
		kfree(s);
	}
	kedr_pt_tail_count();
	return count;
}

static noinline ssize_t kedr_pt_tail_read(struct file *f, char __user *buf,
					  size_t count, loff_t *pos)
{
	return schedule_timeout_interruptible(msecs_to_jiffies(READ_ONCE(sleep_ms)));
}

static const struct file_operations kedr_pt_tail_fops = {
	.owner = THIS_MODULE,
	.read = kedr_pt_tail_read,
	.write = kedr_pt_tail_write,
	.llseek = noop_llseek,
};

static struct miscdevice kedr_pt_tail_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kedr_pt_tail",
	.fops = &kedr_pt_tail_fops,
};

module_misc_device(kedr_pt_tail_dev);
MODULE_DESCRIPTION("KEDR test target: a read ending in a tail call of a sleeping function");
MODULE_LICENSE("GPL");
