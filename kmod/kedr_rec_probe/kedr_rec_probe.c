// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_rec_probe: drives kedr_rec_target (instrumented by kedr_sample) and,
 * with kprobes, watches kedr_sample from outside, for the recorder tests.
 *
 *	insmod kedr_rec_probe.ko [mode=nest|ac|mutex] [read_mutex=ADDR]
 *	echo "work N" > /sys/kernel/debug/kedr_rec_probe/ctl
 *	echo "uaccess" > /sys/kernel/debug/kedr_rec_probe/ctl
 *	cat /sys/kernel/debug/kedr_rec_probe/result
 *
 * work N		calls kedr_rec_work() N times
 * atomic_work N	the same with preemption disabled: code that cannot
 *			wait for a reader (kedr_sample's wait_ms)
 * indirect N		calls kedr_rec_indirect(N): N indirect calls of the
 *			target to a kernel function
 * uaccess		kedr_rec_uaccess() on the written buffer: a user
 *			access of the target inside a STAC region
 * mode=nest		"nest N" arms a kprobe on kedr_record_irqs_off(): the
 *			next event of this task that goes through it (a
 *			string instruction's: the memory and function
 *			handlers write inline) calls kedr_rec_work() N times
 *			from inside the handler, where every event of those
 *			calls is dropped as nested
 * mode=ac		counts handler calls (kedr_on_*_event), those made
 *			with EFLAGS.AC set, and the calls of the event
 *			helpers the copies make (kedr_helper_*_event),
 *			and the indirect-branch handler's (kedr_on_indirect)
 * mode=mutex		counts _copy_to_user() calls made by "head" while it
 *			holds the mutex at read_mutex (kedr_sample's
 *			kedr_read_mutex, from /proc/kallsyms)
 * result: "nested N", "handlers N", "handlers_ac N", "helpers N",
 * "copies N", "copies_locked N", "indirect N", one a line.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>

#include "kedr_rec_target.h"

static char *mode = "";
module_param(mode, charp, 0444);
MODULE_PARM_DESC(mode, "nest, ac, mutex or nothing (driving only)");

static unsigned long read_mutex;
module_param(read_mutex, ulong, 0444);
MODULE_PARM_DESC(read_mutex, "mode=mutex: address of kedr_sample's kedr_read_mutex");

static const struct kedr_rec_ops *ops;

static atomic_t nested, handlers, handlers_ac, helpers, copies, copies_locked;
static atomic_t indirect;
static struct task_struct *nest_task;
static unsigned int nest_count;

static int kedr_nest_pre(struct kprobe *p, struct pt_regs *regs)
{
	unsigned int i;

	if (READ_ONCE(nest_task) != current ||
	    cmpxchg(&nest_task, current, NULL) != current)
		return 0;
	/* Inside kedr_sample's handler: these events are nested. */
	for (i = 0; i < nest_count; i++)
		ops->work();
	atomic_add(nest_count, &nested);
	return 0;
}

static int kedr_ac_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&handlers);
	if (regs->flags & X86_EFLAGS_AC)
		atomic_inc(&handlers_ac);
	return 0;
}

static int kedr_helper_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&helpers);
	return 0;
}

static int kedr_indirect_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_inc(&indirect);
	return 0;
}

static int kedr_copy_pre(struct kprobe *p, struct pt_regs *regs)
{
	struct mutex *m = (struct mutex *)read_mutex;

	if (strcmp(current->comm, "head"))
		return 0;
	atomic_inc(&copies);
	if ((atomic_long_read(&m->owner) & ~0x07UL) == (unsigned long)current)
		atomic_inc(&copies_locked);
	return 0;
}

static struct kprobe kedr_probes[] = {
	{ .symbol_name = "kedr_record_irqs_off", .pre_handler = kedr_nest_pre },
	{ .symbol_name = "kedr_on_func_event", .pre_handler = kedr_ac_pre },
	{ .symbol_name = "kedr_on_mem_event", .pre_handler = kedr_ac_pre },
	{ .symbol_name = "kedr_on_string_event", .pre_handler = kedr_ac_pre },
	{ .symbol_name = "kedr_on_bitop_event", .pre_handler = kedr_ac_pre },
	{ .symbol_name = "kedr_helper_func_event", .pre_handler = kedr_helper_pre },
	{ .symbol_name = "kedr_helper_mem_event", .pre_handler = kedr_helper_pre },
	{ .symbol_name = "kedr_helper_mem_event_noflags",
	  .pre_handler = kedr_helper_pre },
	{ .symbol_name = "kedr_helper_string_event",
	  .pre_handler = kedr_helper_pre },
	{ .symbol_name = "kedr_helper_bitop_event",
	  .pre_handler = kedr_helper_pre },
	{ .symbol_name = "kedr_on_indirect", .pre_handler = kedr_indirect_pre },
	{ .symbol_name = "_copy_to_user", .pre_handler = kedr_copy_pre },
};

static bool kedr_probe_used(const struct kprobe *p)
{
	if (p->pre_handler == kedr_nest_pre)
		return !strcmp(mode, "nest");
	if (p->pre_handler == kedr_ac_pre || p->pre_handler == kedr_helper_pre ||
	    p->pre_handler == kedr_indirect_pre)
		return !strcmp(mode, "ac");
	return !strcmp(mode, "mutex") && read_mutex;
}

static ssize_t kedr_ctl_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	char buf[32];
	unsigned int n, i;
	u8 v;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = 0;
	if (sscanf(buf, "work %u", &n) == 1) {
		for (i = 0; i < n; i++)
			ops->work();
	} else if (sscanf(buf, "atomic_work %u", &n) == 1) {
		preempt_disable();
		for (i = 0; i < n; i++)
			ops->work();
		preempt_enable();
	} else if (sscanf(buf, "indirect %u", &n) == 1) {
		ops->indirect(n);
	} else if (sscanf(buf, "nest %u", &n) == 1) {
		nest_count = n;
		WRITE_ONCE(nest_task, current);
		ops->work();
		WRITE_ONCE(nest_task, NULL);
	} else if (!strncmp(buf, "uaccess", 7)) {
		if (ops->uaccess((const u8 __user *)ubuf, &v))
			return -EFAULT;
	} else {
		return -EINVAL;
	}
	return count;
}

static const struct file_operations kedr_ctl_fops = {
	.owner = THIS_MODULE,
	.write = kedr_ctl_write,
};

static int kedr_result_show(struct seq_file *m, void *v)
{
	seq_printf(m, "nested %d\nhandlers %d\nhandlers_ac %d\nhelpers %d\ncopies %d\ncopies_locked %d\nindirect %d\n",
		   atomic_read(&nested), atomic_read(&handlers),
		   atomic_read(&handlers_ac), atomic_read(&helpers),
		   atomic_read(&copies), atomic_read(&copies_locked),
		   atomic_read(&indirect));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kedr_result);

static struct dentry *kedr_dir;

static void kedr_unregister(unsigned int n)
{
	while (n--)
		if (kedr_probe_used(&kedr_probes[n]))
			unregister_kprobe(&kedr_probes[n]);
}

static int __init kedr_probe_init(void)
{
	unsigned int i;
	int err;

	ops = symbol_get(kedr_rec_ops);
	if (!ops) {
		pr_err("kedr_rec_target is not loaded\n");
		return -ENOENT;
	}
	for (i = 0; i < ARRAY_SIZE(kedr_probes); i++) {
		if (!kedr_probe_used(&kedr_probes[i]))
			continue;
		err = register_kprobe(&kedr_probes[i]);
		if (err) {
			pr_err("kprobe on %s: %d\n",
			       kedr_probes[i].symbol_name, err);
			kedr_unregister(i);
			goto out_put;
		}
	}
	kedr_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", 0200, kedr_dir, NULL, &kedr_ctl_fops);
	debugfs_create_file("result", 0444, kedr_dir, NULL,
			    &kedr_result_fops);
	return 0;

out_put:
	symbol_put(kedr_rec_ops);
	return err;
}

static void __exit kedr_probe_exit(void)
{
	debugfs_remove_recursive(kedr_dir);
	kedr_unregister(ARRAY_SIZE(kedr_probes));
	symbol_put(kedr_rec_ops);
}

module_init(kedr_probe_init);
module_exit(kedr_probe_exit);
MODULE_DESCRIPTION("KEDR recorder tests: drives kedr_rec_target, watches kedr_sample");
MODULE_LICENSE("GPL");
