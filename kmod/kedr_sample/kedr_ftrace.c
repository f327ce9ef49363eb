// SPDX-License-Identifier: GPL-2.0
/*
 * Entering the copies through ftrace. A function that has an fentry site
 * (its first instruction, `call __fentry__`, a 5-byte NOP once ftrace has
 * set the module up) keeps it: ftrace owns those bytes and checks them
 * (ftrace_verify_code() -> ftrace_bug(), which turns ftrace off for good)
 * whenever a tracer, a kprobe or BPF attaches to the function. Instead of
 * a jmp over it, one ftrace_ops with IPMODIFY, filtered on these sites,
 * sends each call to the copy, as livepatch does; other ftrace users of the
 * same function come and go as they would without us.
 *
 * The ops is PERMANENT: with it registered, ftrace cannot be switched off
 * (sysctl kernel.ftrace_enabled=0), which would leave the sites as NOPs
 * falling into the int3s.
 *
 * At MODULE_STATE_COMING ftrace_module_enable() has made the module's
 * records usable (klp_module_coming() relies on the same), so the filter
 * can be set and the ops registered from our COMING notifier; for a module
 * that runs already they are, and registering switches each site from its
 * NOP to the call with text_poke_bp() while other CPUs may run it.
 * Unregistering a FTRACE_OPS_FL_DYNAMIC ops waits for CPUs and tasks still
 * in its trampoline or handler (synchronize_rcu_tasks_rude() and, with
 * CONFIG_PREEMPTION, synchronize_rcu_tasks()), not for tasks in the copies:
 * kedr_quiesce.c does that.
 *
 * Cost: a call to such a function goes through ftrace_caller (saves the
 * argument registers, calls the handler, returns to regs->ip) instead of
 * one jmp. The handler finds the copy in an open-addressed table (hash_64()
 * of the site, linear probing, at most half full), a few instructions where
 * a binary search over a large module's sites took dozens.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/ftrace.h>
#include <linux/hash.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "kedr_sample.h"

struct kedr_ftrace {
	struct ftrace_ops ops;
	unsigned int n;
	unsigned long *ips;	/* sorted fentry sites */
	unsigned long *init_ips;	/* sites in init text */
	unsigned int n_init;
	/* For the handler: 1 << bits sites and their copies; empty: ip 0. */
	unsigned int bits;
	struct kedr_ftrace_slot {
		unsigned long ip, dest;
	} *slots;
};

unsigned long kedr_ftrace_site(struct module *mod, unsigned long addr)
{
#ifdef CONFIG_FTRACE_MCOUNT_RECORD
	unsigned int i;

	/* At COMING these are the relocated addresses of the call sites. */
	for (i = 0; i < mod->num_ftrace_callsites; i++)
		if (mod->ftrace_callsites[i] == addr)
			return addr;
#endif
	return 0;
}

/* Called from ftrace_caller for every call of a redirected function. */
static void notrace kedr_ftrace_handler(unsigned long ip,
					unsigned long parent_ip,
					struct ftrace_ops *op,
					struct ftrace_regs *fregs)
{
	const struct kedr_ftrace *f = container_of(op, struct kedr_ftrace, ops);
	unsigned int mask = (1U << f->bits) - 1;
	unsigned int i = hash_64(ip, f->bits);

	for (; f->slots[i].ip; i = (i + 1) & mask) {
		if (f->slots[i].ip == ip) {
			ftrace_instruction_pointer_set(fregs, f->slots[i].dest);
			return;
		}
	}
}

struct kedr_ftrace_pair {
	unsigned long ip;
	unsigned long dest;
	bool init;
};

static int kedr_cmp_pair(const void *a, const void *b)
{
	const struct kedr_ftrace_pair *x = a, *y = b;

	return x->ip < y->ip ? -1 : x->ip > y->ip;
}

/* Site @ip (not 0) goes to @dest; @f->slots has room (at most half full). */
static void kedr_ftrace_slot_add(struct kedr_ftrace *f, unsigned long ip,
				 unsigned long dest)
{
	unsigned int mask = (1U << f->bits) - 1;
	unsigned int i = hash_64(ip, f->bits);

	while (f->slots[i].ip && f->slots[i].ip != ip)
		i = (i + 1) & mask;
	f->slots[i].ip = ip;
	f->slots[i].dest = dest;
}

static void kedr_ftrace_free(struct kedr_ftrace *f)
{
	kvfree(f->ips);
	kvfree(f->init_ips);
	kvfree(f->slots);
	kfree(f);
	kedr_obj_gone();
}

int kedr_ftrace_start(unsigned int n, const unsigned long *ips,
		      const unsigned long *dests, const bool *init,
		      struct kedr_ftrace **out)
{
	struct kedr_ftrace_pair *pairs;
	struct kedr_ftrace *f;
	unsigned int i, k = 0;
	int err = -ENOMEM;

	*out = NULL;
	if (!n)
		return 0;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (f)
		kedr_obj_new();
	pairs = kvmalloc_array(n, sizeof(*pairs), GFP_KERNEL);
	if (!f || !pairs)
		goto fail;
	f->ips = kvmalloc_array(n, sizeof(*f->ips), GFP_KERNEL);
	f->init_ips = kvmalloc_array(n, sizeof(*f->init_ips), GFP_KERNEL);
	f->bits = ilog2(roundup_pow_of_two(2 * n));
	f->slots = kvcalloc(1U << f->bits, sizeof(*f->slots), GFP_KERNEL);
	if (!f->ips || !f->init_ips || !f->slots)
		goto fail;
	for (i = 0; i < n; i++) {
		pairs[i].ip = ips[i];
		pairs[i].dest = dests[i];
		pairs[i].init = init[i];
	}
	sort(pairs, n, sizeof(*pairs), kedr_cmp_pair, NULL);
	for (i = 0; i < n; i++) {
		f->ips[i] = pairs[i].ip;
		if (pairs[i].init)
			f->init_ips[k++] = pairs[i].ip;
		kedr_ftrace_slot_add(f, pairs[i].ip, pairs[i].dest);
	}
	f->n = n;
	f->n_init = k;
	kvfree(pairs);
	pairs = NULL;

	f->ops.func = kedr_ftrace_handler;
	f->ops.flags = FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_PERMANENT |
#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
		       FTRACE_OPS_FL_SAVE_REGS |
#endif
		       FTRACE_OPS_FL_DYNAMIC;
	err = ftrace_set_filter_ips(&f->ops, f->ips, f->n, 0, 1);
	if (err) {
		pr_err("cannot set the ftrace filter on %u fentry sites (%d)\n",
		       n, err);
		goto fail_filter;
	}
	err = register_ftrace_function(&f->ops);
	if (err) {
		pr_err("cannot register the ftrace_ops for %u fentry sites (%d)\n",
		       n, err);
		goto fail_filter;
	}
	*out = f;
	return 0;

fail_filter:
	ftrace_free_filter(&f->ops);
fail:
	kvfree(pairs);
	if (f)
		kedr_ftrace_free(f);
	return err;
}

/*
 * The target's init is done (MODULE_STATE_LIVE) and its init text goes
 * next: stop sending those sites anywhere while their records exist.
 */
void kedr_ftrace_drop_init(struct kedr_ftrace *f)
{
	int err;

	if (!f || !f->n_init)
		return;
	err = ftrace_set_filter_ips(&f->ops, f->init_ips, f->n_init, 1, 0);
	if (err)
		pr_warn("cannot take %u init functions out of the ftrace filter (%d)\n",
			f->n_init, err);
	f->n_init = 0;
}

/*
 * 0: the ops is gone and @f freed. Else (ftrace is off for good: -ENODEV)
 * the ops stays registered, its filter and @f with it: ftrace may go on
 * calling the handler, which goes on sending those calls to the copies.
 */
int kedr_ftrace_stop(struct kedr_ftrace *f)
{
	int err;

	if (!f)
		return 0;
	err = unregister_ftrace_function(&f->ops);
	if (err)
		return err;
	ftrace_free_filter(&f->ops);
	kedr_ftrace_free(f);
	return 0;
}
