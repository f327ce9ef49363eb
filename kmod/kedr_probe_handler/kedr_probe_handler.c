// SPDX-License-Identifier: GPL-2.0
/*
 * A probe handler for the probe tests (kmod/kedr_probe.h): registers for
 * the probe at func+offset (module parameters) and counts its hits, keeping
 * the sum and the last value of %rdx there (parameters hits, rdx_sum,
 * last_rdx, read-only). Loaded and unloaded while the target runs.
 *
 * For the tests of the probe API's edges:
 *	nest=1		the handler calls func, an exported function of the
 *			target of type unsigned long (unsigned long, unsigned
 *			long), once per hit: its probes hit again on the CPU
 *			while the handler runs, hits kedr_sample drops and
 *			counts (the "dropped" column of debugfs "probes")
 *	again_offset=N	after registering, registers the same handler again
 *			for func+N; what that returned is again_err (read-only)
 *			and the handler must still be called for func+offset
 *	unregister	(write) unregisters the handler now; the module's
 *			exit unregisters it again
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

static bool nest;
module_param(nest, bool, 0444);
MODULE_PARM_DESC(nest, "Call func (exported) from the handler once per hit");

static int again_offset = -1;
module_param(again_offset, int, 0444);
MODULE_PARM_DESC(again_offset, "Register the handler a second time, for func+again_offset");

static int again_err;
module_param(again_err, int, 0444);
MODULE_PARM_DESC(again_err, "What the second registration returned");

typedef unsigned long (*kph_func_t)(unsigned long, unsigned long);
static kph_func_t kph_func;

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
	if (kph_func)
		kph_func(1, 2);
}

static struct kedr_probe_handler kph = {
	.handler = kph_handler,
};

static int kph_unregister_set(const char *val, const struct kernel_param *kp)
{
	kedr_probe_unregister(&kph);
	return 0;
}

static const struct kernel_param_ops kph_unregister_ops = {
	.set = kph_unregister_set,
};

module_param_cb(unregister, &kph_unregister_ops, NULL, 0200);
MODULE_PARM_DESC(unregister, "Write anything: unregister the handler now");

static int __init kph_init(void)
{
	int err;

	if (nest) {
		kph_func = (kph_func_t)__symbol_get(func);
		if (!kph_func) {
			pr_err("%s is not exported\n", func);
			return -ENOENT;
		}
	}
	kph.func = func;
	kph.offset = offset;
	err = kedr_probe_register(&kph);
	if (err) {
		pr_err("no probe at %s+0x%x (%d)\n", func, offset, err);
		goto out_put;
	}
	if (again_offset >= 0) {
		kph.offset = again_offset;
		again_err = kedr_probe_register(&kph);
		kph.offset = offset;
	}
	pr_info("handling probe %u at %s+0x%x\n", kph.id, func, offset);
	return 0;

out_put:
	if (kph_func)
		symbol_put_addr(kph_func);
	return err;
}

static void __exit kph_exit(void)
{
	kedr_probe_unregister(&kph);
	if (kph_func)
		symbol_put_addr(kph_func);
	pr_info("removed after %ld hits\n", atomic_long_read(&kph_hits));
}

module_init(kph_init);
module_exit(kph_exit);
MODULE_DESCRIPTION("KEDR: a probe handler for the probe tests");
MODULE_LICENSE("GPL");
