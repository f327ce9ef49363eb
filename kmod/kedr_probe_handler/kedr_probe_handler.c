// SPDX-License-Identifier: GPL-2.0
/*
 * A probe handler for the probe tests (kmod/kedr_probe.h): registers for
 * the probe at func+offset (module parameters) and counts its hits, keeping
 * the sum and the last value of %rdx there (parameters hits, rdx_sum,
 * last_rdx, read-only). Loaded and unloaded while the target runs.
 */
#define pr_fmt(fmt) "kedr_probe_handler: " fmt

#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <asm/ptrace.h>

#include "kedr_probe.h"

static char *func = "cfake_write";
module_param(func, charp, 0444);
MODULE_PARM_DESC(func, "Function of the target holding the probe");

static unsigned int offset;
module_param(offset, uint, 0444);
MODULE_PARM_DESC(offset, "Offset of the probed instruction in it");

static atomic_long_t kph_hits;
static atomic_long_t kph_rdx_sum;
static atomic_long_t kph_last_rdx;

static int kph_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%ld\n", atomic_long_read(kp->arg));
}

static const struct kernel_param_ops kph_ro_ops = {
	.get = kph_get,
};

module_param_cb(hits, &kph_ro_ops, &kph_hits, 0444);
module_param_cb(rdx_sum, &kph_ro_ops, &kph_rdx_sum, 0444);
module_param_cb(last_rdx, &kph_ro_ops, &kph_last_rdx, 0444);

static void kph_handler(struct kedr_probe_handler *h, unsigned int id,
			struct pt_regs *regs)
{
	atomic_long_inc(&kph_hits);
	atomic_long_add(regs->dx, &kph_rdx_sum);
	atomic_long_set(&kph_last_rdx, regs->dx);
}

static struct kedr_probe_handler kph = {
	.handler = kph_handler,
};

static int __init kph_init(void)
{
	int err;

	kph.func = func;
	kph.offset = offset;
	err = kedr_probe_register(&kph);
	if (err) {
		pr_err("no probe at %s+0x%x (%d)\n", func, offset, err);
		return err;
	}
	pr_info("handling probe %u at %s+0x%x\n", kph.id, func, offset);
	return 0;
}

static void __exit kph_exit(void)
{
	kedr_probe_unregister(&kph);
	pr_info("removed after %ld hits\n", atomic_long_read(&kph_hits));
}

module_init(kph_init);
module_exit(kph_exit);
MODULE_DESCRIPTION("KEDR: a probe handler for the probe tests");
MODULE_LICENSE("GPL");
