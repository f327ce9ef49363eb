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
 * one jmp.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/ftrace.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "kedr_sample.h"

struct kedr_ftrace {
	struct ftrace_ops ops;
	unsigned int n;
	unsigned long *ips;	/* sorted fentry sites */
	unsigned long *dests;	/* the copy each one goes to */
	unsigned long *init_ips;	/* sites in init text */
	unsigned int n_init;
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
	unsigned int lo = 0, hi = f->n;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (f->ips[mid] == ip) {
			ftrace_instruction_pointer_set(fregs, f->dests[mid]);
			return;
		}
		if (f->ips[mid] < ip)
			lo = mid + 1;
		else
			hi = mid;
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

static void kedr_ftrace_free(struct kedr_ftrace *f)
{
	kvfree(f->ips);
	kvfree(f->dests);
	kvfree(f->init_ips);
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
	f->dests = kvmalloc_array(n, sizeof(*f->dests), GFP_KERNEL);
	f->init_ips = kvmalloc_array(n, sizeof(*f->init_ips), GFP_KERNEL);
	if (!f->ips || !f->dests || !f->init_ips)
		goto fail;
	for (i = 0; i < n; i++) {
		pairs[i].ip = ips[i];
		pairs[i].dest = dests[i];
		pairs[i].init = init[i];
	}
	sort(pairs, n, sizeof(*pairs), kedr_cmp_pair, NULL);
	for (i = 0; i < n; i++) {
		f->ips[i] = pairs[i].ip;
		f->dests[i] = pairs[i].dest;
		if (pairs[i].init)
			f->init_ips[k++] = pairs[i].ip;
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

void kedr_ftrace_stop(struct kedr_ftrace *f)
{
	int err;

	if (!f)
		return;
	err = unregister_ftrace_function(&f->ops);
	if (err)
		pr_err("cannot unregister the ftrace_ops (%d): the copies are left in place\n",
		       err);
	ftrace_free_filter(&f->ops);
	/* A failed unregister leaves the ops live: never free it then. */
	if (!err)
		kedr_ftrace_free(f);
}
