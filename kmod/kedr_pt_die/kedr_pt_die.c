// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_die: a target with a die notifier of its own, for the test of a
 * detach from a target attached at COMING. The notifier and the getter of
 * parameter "seen" (how many die events it saw) are notrace: no fentry
 * site, so each is entered through a jmp at its entry, which the detach
 * puts back through an int3. A CPU reading "seen" meanwhile meets that
 * int3, and do_int3() runs the die chain: if this module's notifier ran
 * before kedr_sample's, it would meet the int3 at its own entry, and so on.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kdebug.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/notifier.h>
#include <linux/sysfs.h>

static atomic_t kptd_seen = ATOMIC_INIT(0);

static noinline notrace int kptd_die(struct notifier_block *nb,
				     unsigned long val, void *data)
{
	atomic_inc(&kptd_seen);
	return NOTIFY_DONE;
}

static struct notifier_block kptd_nb = {
	.notifier_call = kptd_die,
};

static noinline notrace int kptd_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&kptd_seen));
}

static const struct kernel_param_ops kptd_ops = {
	.get = kptd_get,
};
module_param_cb(seen, &kptd_ops, NULL, 0444);
MODULE_PARM_DESC(seen, "Die events the notifier saw");

static int __init kptd_init(void)
{
	return register_die_notifier(&kptd_nb);
}

static void __exit kptd_exit(void)
{
	unregister_die_notifier(&kptd_nb);
}

module_init(kptd_init);
module_exit(kptd_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KEDR test target: a die notifier entered by a jmp");
