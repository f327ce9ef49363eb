// SPDX-License-Identifier: GPL-2.0
/*
 * The probe benchmark's driver (benchmarks/vm/probe-cost.sh). Parameters:
 *	kprobe=0|1|2	no kprobe; a kprobe at kedr_pb_work+offset with a
 *			post_handler (never optimized); one without (the
 *			optimizer may turn it into a jump: see
 *			/sys/kernel/debug/kprobes/list)
 *	run=N		calls kedr_pb_work() N times, interrupts on; the time
 *			(ktime_get_ns()) goes to last_ns
 * The kprobe's pre_handler does what kedr_probe_handler's handler does.
 */
#define pr_fmt(fmt) "kedr_pb_drive: " fmt

#include <linux/atomic.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/timekeeping.h>

unsigned long kedr_pb_work(unsigned long x, unsigned long y);

static unsigned int offset = 5;
module_param(offset, uint, 0444);
MODULE_PARM_DESC(offset, "Offset of the kprobe in kedr_pb_work");

static unsigned long last_ns;
module_param(last_ns, ulong, 0444);
static unsigned long kprobe_hits;
module_param(kprobe_hits, ulong, 0444);

static atomic_long_t kpd_hits, kpd_rdx_sum, kpd_last_rdx;

static int kpd_pre(struct kprobe *p, struct pt_regs *regs)
{
	atomic_long_inc(&kpd_hits);
	atomic_long_add(regs->dx, &kpd_rdx_sum);
	atomic_long_set(&kpd_last_rdx, regs->dx);
	return 0;
}

static void kpd_post(struct kprobe *p, struct pt_regs *regs,
		     unsigned long flags)
{
}

static struct kprobe kpd_kp;
static bool kpd_registered;

static void kpd_unregister(void)
{
	if (kpd_registered)
		unregister_kprobe(&kpd_kp);
	kpd_registered = false;
}

static int kpd_set_kprobe(const char *val, const struct kernel_param *kp)
{
	unsigned int mode;
	int err = kstrtouint(val, 10, &mode);

	if (err || mode > 2)
		return -EINVAL;
	kpd_unregister();
	if (!mode)
		return 0;
	memset(&kpd_kp, 0, sizeof(kpd_kp));
	kpd_kp.symbol_name = "kedr_pb_work";
	kpd_kp.offset = offset;
	kpd_kp.pre_handler = kpd_pre;
	if (mode == 1)
		kpd_kp.post_handler = kpd_post;
	err = register_kprobe(&kpd_kp);
	if (err) {
		pr_err("register_kprobe: %d\n", err);
		return err;
	}
	kpd_registered = true;
	return 0;
}

static const struct kernel_param_ops kpd_kprobe_ops = {
	.set = kpd_set_kprobe,
};
module_param_cb(kprobe, &kpd_kprobe_ops, NULL, 0200);

static int kpd_run(const char *val, const struct kernel_param *kp)
{
	unsigned long n, i, acc = 0;
	u64 start;
	int err = kstrtoul(val, 10, &n);

	if (err || !n || n > 100000000UL)
		return -EINVAL;
	start = ktime_get_ns();
	for (i = 0; i < n; i++)
		acc += kedr_pb_work(i, acc);
	last_ns = ktime_get_ns() - start;
	kprobe_hits = atomic_long_read(&kpd_hits);
	return 0;
}

static const struct kernel_param_ops kpd_run_ops = {
	.set = kpd_run,
};
module_param_cb(run, &kpd_run_ops, NULL, 0200);

static void __exit kpd_exit(void)
{
	kpd_unregister();
}

static int __init kpd_init(void)
{
	return 0;
}

module_init(kpd_init);
module_exit(kpd_exit);
MODULE_DESCRIPTION("KEDR: drives the probe benchmark");
MODULE_LICENSE("GPL");
