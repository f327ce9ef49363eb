// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_stress_driver: drives kedr_stress_target from process, softirq and
 * hardirq context and counts what it asked for, independently of any
 * recorder. Not instrumented itself. In /sys/kernel/debug/kedr_stress/:
 *
 *	work	write "N C": C calls kst_work(buf, N) from the writer
 *	irq	write 1: start an hrtimer (hardirq, every irq_period_us) that
 *		calls kst_work(buf, irq_iters) and queues an irq_work that
 *		calls kst_nested(buf, irq_iters), and a timer_list (softirq,
 *		every jiffy) that calls kst_nested(buf, irq_iters); write 0:
 *		stop them all and wait until none of them runs
 *	counts	"<function> <context> <calls> <iterations>" lines, then
 *		"events <E>": what the target's calls give (kedr_stress_target.h)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/uaccess.h>

#include "kedr_stress_target.h"

static unsigned int irq_period_us = 200;
module_param(irq_period_us, uint, 0444);
MODULE_PARM_DESC(irq_period_us, "hrtimer period (default 200 us)");

static unsigned int irq_iters = 16;
module_param(irq_iters, uint, 0444);
MODULE_PARM_DESC(irq_iters, "Iterations per call from interrupt context (default 16)");

#define KST_MAX_ITERS	(1U << 20)
#define KST_MAX_CALLS	(1U << 20)

enum kst_path {
	KST_TASK_WORK,		/* kst_work from the writer of "work" */
	KST_HARDIRQ_WORK,	/* kst_work from the hrtimer */
	KST_IRQ_WORK_NESTED,	/* kst_nested from the irq_work */
	KST_SOFTIRQ_NESTED,	/* kst_nested from the timer_list */
	KST_NR_PATHS
};

static const char * const kst_path_names[KST_NR_PATHS] = {
	[KST_TASK_WORK] = "kst_work task",
	[KST_HARDIRQ_WORK] = "kst_work hardirq",
	[KST_IRQ_WORK_NESTED] = "kst_nested irq_work",
	[KST_SOFTIRQ_NESTED] = "kst_nested softirq",
};

static atomic64_t kst_calls[KST_NR_PATHS];
static atomic64_t kst_iters[KST_NR_PATHS];

/* One buffer per interrupt path: they only run one at a time each. */
static u64 kst_hrtimer_buf[KST_BUF_WORDS];
static u64 kst_irq_work_buf[KST_BUF_WORDS];
static u64 kst_timer_buf[KST_BUF_WORDS];

static struct hrtimer kst_hrtimer;
static struct irq_work kst_irq_work;
static struct timer_list kst_timer;
static DEFINE_MUTEX(kst_irq_mutex);
static bool kst_irq_on;		/* under kst_irq_mutex */
static bool kst_irq_stopping;	/* the callbacks do not re-arm */
static struct dentry *kst_dir;

static void kst_count(enum kst_path p, u64 n)
{
	atomic64_inc(&kst_calls[p]);
	atomic64_add(n, &kst_iters[p]);
}

static void kst_irq_work_fn(struct irq_work *w)
{
	kst_nested(kst_irq_work_buf, irq_iters);
	kst_count(KST_IRQ_WORK_NESTED, irq_iters);
}

static enum hrtimer_restart kst_hrtimer_fn(struct hrtimer *t)
{
	kst_work(kst_hrtimer_buf, irq_iters);
	kst_count(KST_HARDIRQ_WORK, irq_iters);
	if (READ_ONCE(kst_irq_stopping))
		return HRTIMER_NORESTART;
	irq_work_queue(&kst_irq_work);
	hrtimer_forward_now(t, ns_to_ktime((u64)irq_period_us * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void kst_timer_fn(struct timer_list *t)
{
	kst_nested(kst_timer_buf, irq_iters);
	kst_count(KST_SOFTIRQ_NESTED, irq_iters);
	if (!READ_ONCE(kst_irq_stopping))
		mod_timer(&kst_timer, jiffies + 1);
}

static void kst_irq_start(void)
{
	WRITE_ONCE(kst_irq_stopping, false);
	hrtimer_start(&kst_hrtimer, ns_to_ktime((u64)irq_period_us * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	mod_timer(&kst_timer, jiffies + 1);
}

/* Nothing of ours runs in interrupt context once this returns. */
static void kst_irq_stop(void)
{
	WRITE_ONCE(kst_irq_stopping, true);
	hrtimer_cancel(&kst_hrtimer);
	del_timer_sync(&kst_timer);
	irq_work_sync(&kst_irq_work);
}

static ssize_t kst_irq_write(struct file *file, const char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	bool on;
	int err;

	err = kstrtobool_from_user(ubuf, count, &on);
	if (err)
		return err;
	mutex_lock(&kst_irq_mutex);
	if (on && !kst_irq_on)
		kst_irq_start();
	else if (!on && kst_irq_on)
		kst_irq_stop();
	kst_irq_on = on;
	mutex_unlock(&kst_irq_mutex);
	return count;
}

static const struct file_operations kst_irq_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = kst_irq_write,
	.llseek = noop_llseek,
};

static ssize_t kst_work_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	unsigned int n, calls, i;
	char text[32];
	u64 *buf;

	if (count >= sizeof(text))
		return -EINVAL;
	if (copy_from_user(text, ubuf, count))
		return -EFAULT;
	text[count] = '\0';
	if (sscanf(text, "%u %u", &n, &calls) != 2 || n > KST_MAX_ITERS ||
	    calls > KST_MAX_CALLS)
		return -EINVAL;
	buf = kcalloc(KST_BUF_WORDS, sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < calls; i++) {
		kst_work(buf, n);
		kst_count(KST_TASK_WORK, n);
		cond_resched();
	}
	kfree(buf);
	return count;
}

static const struct file_operations kst_work_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = kst_work_write,
	.llseek = noop_llseek,
};

static int kst_counts_show(struct seq_file *m, void *v)
{
	u64 events = 0;
	int p;

	for (p = 0; p < KST_NR_PATHS; p++) {
		u64 calls = atomic64_read(&kst_calls[p]);
		u64 iters = atomic64_read(&kst_iters[p]);
		bool nested = p == KST_IRQ_WORK_NESTED ||
			      p == KST_SOFTIRQ_NESTED;

		seq_printf(m, "%s %llu %llu\n", kst_path_names[p], calls,
			   iters);
		/* kedr_stress_target.h */
		events += (nested ? 5 : 2) * calls + 2 * iters;
	}
	seq_printf(m, "events %llu\n", events);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kst_counts);

static int __init kst_init(void)
{
	hrtimer_init(&kst_hrtimer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	kst_hrtimer.function = kst_hrtimer_fn;
	init_irq_work(&kst_irq_work, kst_irq_work_fn);
	timer_setup(&kst_timer, kst_timer_fn, 0);

	kst_dir = debugfs_create_dir("kedr_stress", NULL);
	debugfs_create_file("work", 0200, kst_dir, NULL, &kst_work_fops);
	debugfs_create_file("irq", 0200, kst_dir, NULL, &kst_irq_fops);
	debugfs_create_file("counts", 0444, kst_dir, NULL, &kst_counts_fops);
	return 0;
}

static void __exit kst_exit(void)
{
	debugfs_remove(kst_dir);
	if (kst_irq_on)
		kst_irq_stop();
}

module_init(kst_init);
module_exit(kst_exit);
MODULE_DESCRIPTION("KEDR: drives kedr_stress_target from task and interrupt context");
MODULE_LICENSE("GPL");
