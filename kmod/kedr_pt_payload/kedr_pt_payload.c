// SPDX-License-Identifier: GPL-2.0
/*
 * A test payload (kedr_payload.h) for the sample target: replaces its calls
 * to __kmalloc and kfree (what its kzalloc/kcalloc/kfree compile to on 6.1),
 * logs each with its call info, records an ALLOC or FREE event in
 * kedr_sample's stream, and runs hooks around the target's init and exit.
 *
 *	insmod kedr_pt_payload.ko [exit_delay_ms=N]
 *	echo 1 > /sys/module/kedr_pt_payload/parameters/unclaim	# unregister
 *	echo 1 > /sys/module/kedr_pt_payload/parameters/reclaim	# register
 *	cat /sys/module/kedr_pt_payload/parameters/reclaim_err	# its result
 *	echo 1 > /sys/module/kedr_pt_payload/parameters/unregister_stray
 *
 * One dmesg line per event, "kedr_pt_payload: " and then
 *	__kmalloc size=S ret=P caller=F+0xO pc=A in_init=I
 *	kfree ptr=P caller=F+0xO pc=A in_init=I
 *	init hook: before | init hook: after R | exit hook: before | ...
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>

#include "kedr_payload.h"
#include "kedr_record.h"

static DEFINE_MUTEX(kpt_lock);
static bool kpt_registered;

static void kpt_caller(const char *what, unsigned long ret_addr,
		       struct kedr_call_info *ci)
{
	bool known = kedr_get_call_info(ret_addr, ci);

	if (!known)
		pr_info("%s: call info not known (ret_addr %lx)\n", what,
			ret_addr);
}

static void *kpt_kmalloc(size_t size, gfp_t flags)
{
	unsigned long ra = (unsigned long)__builtin_return_address(0);
	struct kedr_call_info ci;
	void *p;

	kpt_caller("__kmalloc", ra, &ci);
	p = __kmalloc(size, flags);
	pr_info("__kmalloc size=%zu ret=%lx caller=%s+0x%lx pc=%lx in_init=%d\n",
		size, (unsigned long)p, ci.func_name ? ci.func_name : "?",
		ci.pc - ci.func, ci.pc, ci.in_init);
	if (p)
		kedr_record_event(KEDR_REC_ALLOC, ci.pc, (unsigned long)p, size);
	return p;
}

static void kpt_kfree(const void *p)
{
	unsigned long ra = (unsigned long)__builtin_return_address(0);
	struct kedr_call_info ci;

	kpt_caller("kfree", ra, &ci);
	pr_info("kfree ptr=%lx caller=%s+0x%lx pc=%lx in_init=%d\n",
		(unsigned long)p, ci.func_name ? ci.func_name : "?",
		ci.pc - ci.func, ci.pc, ci.in_init);
	if (p)
		kedr_record_event(KEDR_REC_FREE, ci.pc, (unsigned long)p, 0);
	kfree(p);
}

static int kpt_init_hook(struct module *target, int (*orig)(void))
{
	int ret;

	pr_info("init hook: before %s\n", target->name);
	ret = orig();
	pr_info("init hook: after %d\n", ret);
	return ret;
}

static void kpt_exit_hook(struct module *target, void (*orig)(void))
{
	pr_info("exit hook: before %s\n", target->name);
	orig();
	pr_info("exit hook: after\n");
}

static void kpt_target_loaded(struct module *target)
{
	pr_info("target loaded: %s\n", target->name);
}

static void kpt_target_unloading(struct module *target)
{
	pr_info("target unloading: %s\n", target->name);
}

static const struct kedr_replacement kpt_replacements[] = {
	{ .name = "__kmalloc", .handler = kpt_kmalloc },
	{ .name = "kfree", .handler = kpt_kfree },
};

static struct kedr_payload kpt_payload = {
	.owner = THIS_MODULE,
	.name = KBUILD_MODNAME,
	.replacements = kpt_replacements,
	.nr_replacements = ARRAY_SIZE(kpt_replacements),
	.init_hook = kpt_init_hook,
	.exit_hook = kpt_exit_hook,
	.target_loaded = kpt_target_loaded,
	.target_unloading = kpt_target_unloading,
};

static void kpt_unregister(void)
{
	mutex_lock(&kpt_lock);
	if (kpt_registered)
		kedr_payload_unregister(&kpt_payload);
	kpt_registered = false;
	mutex_unlock(&kpt_lock);
}

/* Writing anything to "unclaim" unregisters the payload. */
static int kpt_unclaim_set(const char *val, const struct kernel_param *kp)
{
	kpt_unregister();
	return 0;
}

static const struct kernel_param_ops kpt_unclaim_ops = {
	.set = kpt_unclaim_set,
};
module_param_cb(unclaim, &kpt_unclaim_ops, NULL, 0200);
MODULE_PARM_DESC(unclaim, "Write anything: unregister the payload");

static int reclaim_err;
module_param(reclaim_err, int, 0444);
MODULE_PARM_DESC(reclaim_err, "What the last write to reclaim got from kedr_payload_register()");

/*
 * Writing anything to "reclaim" registers the payload again, registered
 * or not (tests: a second registration must be refused, a new one after
 * "unclaim" taken).
 */
static int kpt_reclaim_set(const char *val, const struct kernel_param *kp)
{
	int err;

	mutex_lock(&kpt_lock);
	err = kedr_payload_register(&kpt_payload);
	if (!err)
		kpt_registered = true;
	reclaim_err = err;
	mutex_unlock(&kpt_lock);
	return 0;
}

static const struct kernel_param_ops kpt_reclaim_ops = {
	.set = kpt_reclaim_set,
};
module_param_cb(reclaim, &kpt_reclaim_ops, NULL, 0200);
MODULE_PARM_DESC(reclaim, "Write anything: register the payload (again)");

/* Never registered: "unregister_stray" unregisters it (tests: harmless). */
static struct kedr_payload kpt_stray = {
	.owner = THIS_MODULE,
	.name = "kedr_pt_stray",
};

static int kpt_unregister_stray_set(const char *val,
				    const struct kernel_param *kp)
{
	kedr_payload_unregister(&kpt_stray);
	return 0;
}

static const struct kernel_param_ops kpt_unregister_stray_ops = {
	.set = kpt_unregister_stray_set,
};
module_param_cb(unregister_stray, &kpt_unregister_stray_ops, NULL, 0200);
MODULE_PARM_DESC(unregister_stray, "Write anything: unregister a payload never registered");

static int __init kpt_init(void)
{
	int err = kedr_payload_register(&kpt_payload);

	if (!err)
		kpt_registered = true;
	return err;
}

/*
 * Tests: the module's exit sleeps before it unregisters the payload, its
 * state already GOING (delete_module() after try_stop_module()), so that a
 * target can load while the payload is going but still registered.
 */
#define KPT_MAX_EXIT_DELAY_MS	60000U
static unsigned int exit_delay_ms;
module_param(exit_delay_ms, uint, 0444);
MODULE_PARM_DESC(exit_delay_ms, "Tests: sleep this long in the module's exit before unregistering (default: 0, at most 60000)");

static void __exit kpt_exit(void)
{
	unsigned int ms = min(exit_delay_ms, KPT_MAX_EXIT_DELAY_MS);

	if (ms) {
		pr_info("exit: unregistering in %u ms\n", ms);
		msleep(ms);
	}
	kpt_unregister();
}

module_init(kpt_init);
module_exit(kpt_exit);
MODULE_DESCRIPTION("KEDR test payload: __kmalloc and kfree of the sample target");
MODULE_LICENSE("GPL");
