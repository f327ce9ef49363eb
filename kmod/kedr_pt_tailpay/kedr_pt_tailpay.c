// SPDX-License-Identifier: GPL-2.0
/*
 * A test payload (kedr_payload.h) for kedr_pt_tail: claims
 * schedule_timeout_interruptible, which the target tail-calls, and sleeps
 * in it with its own frame on the stack (it counts the return after the
 * call, so the call is not a tail call here). A task asleep there has
 * a return address in this module's text and none in the target's copies:
 * detach must wait for it before it lets this module go.
 *
 *	calls, returns (read-only parameters): entries and returns so far
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>

#include "kedr_payload.h"

static atomic_t kptt_calls = ATOMIC_INIT(0);
static atomic_t kptt_returns = ATOMIC_INIT(0);

static int kptt_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(kp->arg));
}

static const struct kernel_param_ops kptt_count_ops = {
	.get = kptt_get,
};
module_param_cb(calls, &kptt_count_ops, &kptt_calls, 0444);
MODULE_PARM_DESC(calls, "Calls of the handler so far");
module_param_cb(returns, &kptt_count_ops, &kptt_returns, 0444);
MODULE_PARM_DESC(returns, "Returns of the handler so far");

static noinline long kptt_sleep(long timeout)
{
	long left;

	atomic_inc(&kptt_calls);
	left = schedule_timeout_interruptible(timeout);
	atomic_inc(&kptt_returns);
	return left;
}

static const struct kedr_replacement kptt_replacements[] = {
	{ .name = "schedule_timeout_interruptible", .handler = kptt_sleep },
};

static struct kedr_payload kptt_payload = {
	.owner = THIS_MODULE,
	.name = KBUILD_MODNAME,
	.replacements = kptt_replacements,
	.nr_replacements = ARRAY_SIZE(kptt_replacements),
};

static int __init kptt_init(void)
{
	return kedr_payload_register(&kptt_payload);
}

static void __exit kptt_exit(void)
{
	kedr_payload_unregister(&kptt_payload);
}

module_init(kptt_init);
module_exit(kptt_exit);
MODULE_DESCRIPTION("KEDR test payload: sleeps in a handler the target tail-calls");
MODULE_LICENSE("GPL");
