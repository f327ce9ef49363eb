// SPDX-License-Identifier: GPL-2.0
/*
 * Entering the copies of a module that is running already, where ftrace
 * cannot: functions without an fentry site, and the
 * landing pads (places in an original the module's data points to, such as
 * jump table targets, which the copies jump to and must come back from).
 *
 * Writing a jmp there is not safe while other CPUs may run the original: a
 * task preempted or interrupted inside the first 5 bytes (after a 1-byte
 * push, say) would resume in the middle of the jmp. A kprobe writes one
 * int3 by the kernel's own SMP-safe protocol (text_poke_bp() semantics) and
 * puts the original byte back the same way when it is unregistered. Its
 * pre_handler sends the CPU to the same place in the copy and returns 1
 * (no single-step). Such a kprobe must not be optimized (an optprobe runs
 * the pre_handler but ignores a changed regs->ip): a post_handler, never
 * called, keeps kprobes from optimizing it (kernel/kprobes.c).
 *
 * Cost: an int3 trap per call of such a function, and per pad taken.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/slab.h>

#include "kedr_sample.h"

struct kedr_redirect {
	struct kprobe kp;
	unsigned long dest;
};

struct kedr_kprobes {
	unsigned int n;
	struct kedr_redirect *r;
	struct kprobe **kps;
};

static int kedr_kp_pre(struct kprobe *p, struct pt_regs *regs)
{
	regs->ip = container_of(p, struct kedr_redirect, kp)->dest;
	return 1;
}
NOKPROBE_SYMBOL(kedr_kp_pre);

static void kedr_kp_post(struct kprobe *p, struct pt_regs *regs,
			 unsigned long flags)
{
}
NOKPROBE_SYMBOL(kedr_kp_post);

static void kedr_kprobes_free(struct kedr_kprobes *k)
{
	kvfree(k->r);
	kvfree(k->kps);
	kfree(k);
	kedr_obj_gone();
}

int kedr_kprobes_start(unsigned int n, const unsigned long *addrs,
		       const unsigned long *dests, struct kedr_kprobes **out)
{
	struct kedr_kprobes *k;
	unsigned int i;
	int err;

	*out = NULL;
	if (!n)
		return 0;
	k = kzalloc(sizeof(*k), GFP_KERNEL);
	if (!k)
		return -ENOMEM;
	kedr_obj_new();
	k->r = kvcalloc(n, sizeof(*k->r), GFP_KERNEL);
	k->kps = kvcalloc(n, sizeof(*k->kps), GFP_KERNEL);
	if (!k->r || !k->kps) {
		kedr_kprobes_free(k);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		k->r[i].kp.addr = (kprobe_opcode_t *)addrs[i];
		k->r[i].kp.pre_handler = kedr_kp_pre;
		k->r[i].kp.post_handler = kedr_kp_post;
		k->r[i].kp.flags = KPROBE_FLAG_DISABLED;
		k->r[i].dest = dests[i];
		k->kps[i] = &k->r[i].kp;
	}
	k->n = n;
	/* All or none, disabled: kedr_kprobes_arm() writes the int3s. */
	err = register_kprobes(k->kps, n);
	if (err) {
		pr_err("cannot place %u kprobes to enter the copies (%d)\n",
		       n, err);
		kedr_kprobes_free(k);
		return err;
	}
	*out = k;
	return 0;
}

/* Placed disabled (all checks done, nothing written): write the int3s. */
void kedr_kprobes_arm(struct kedr_kprobes *k)
{
	unsigned int i;
	int err;

	for (i = 0; k && i < k->n; i++) {
		err = enable_kprobe(&k->r[i].kp);
		if (err)
			pr_warn("cannot arm the kprobe at %pS (%d): calls there run the original\n",
				k->r[i].kp.addr, err);
	}
}

/* The original bytes back (by kprobes); no CPU in a handler after this. */
void kedr_kprobes_stop(struct kedr_kprobes *k)
{
	if (!k)
		return;
	unregister_kprobes(k->kps, k->n);
	kedr_kprobes_free(k);
}
