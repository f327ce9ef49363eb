// SPDX-License-Identifier: GPL-2.0
/*
 * Payloads (kedr_payload.h): registration and claims, the payloads' modules
 * held while a target is attached, call info, the target's init and exit
 * wrapped, and kedr_record_event(). The stubs and slots they claim are
 * kedr_import_stubs.c's, the routing of calls to them kedr_routing.c's;
 * the state they share and its locking, kedr_intercept.h.
 *
 * A slot goes back to the original when its payload unregisters; a CPU may
 * still be inside the handler then, so the payload's module must stay
 * until no call from the target can be in it: kedr_sample holds a
 * reference on every registered payload's module while a target is
 * attached (a payload's module cannot be unloaded then),
 * and one that unregisters while attached keeps its reference until the
 * target has gone (MODULE_STATE_GOING: its exit has returned and the async
 * work it scheduled is done), when no CPU can be in a handler called from
 * the target any more. A detach while the target runs drops the
 * references only once no task is inside a payload's text either
 * (kedr_intercept_close(), kedr_quiesce.c): a copy's tail call through a
 * stub leaves no return address in the copies.
 *
 * Init and exit. At COMING the target's mod->init and mod->exit (those it
 * has) are replaced with kedr_init_wrapper() and kedr_exit_wrapper(), as
 * KEDR did: 6.1's do_init_module() reads mod->init after the COMING
 * notifiers, delete_module() reads mod->exit before the GOING ones
 * (kernel/module/main.c). A wrapper runs the registered payloads' hooks
 * nested, each given the next as its @orig, the last the target's own.
 * Both run once, in one thread (the module loader's): the nesting state is
 * a per-attachment cursor.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kedr_blob.h"
#include "kedr_payload.h"
#include "kedr_record.h"
#include "kedr_attach.h"
#include "kedr_intercept.h"

DEFINE_MUTEX(kedr_payload_mutex);
static LIST_HEAD(kedr_payloads);
/* Unregistered while attached: their module references go at detach. */
static LIST_HEAD(kedr_payloads_retired);
/* The attached target's; set at attach, cleared at detach (mutex). */
struct kedr_icpt *kedr_icpt;
/* Claimed KEDR_IMPORT_ADDRESS_TAKEN imports of kedr_icpt (mutex; 0: none). */
unsigned int kedr_taken_claimed;
/* Claimed imports of kedr_icpt (mutex); the static call stubs test it. */
unsigned int kedr_any_claimed;

const struct kedr_replacement *
kedr_find_replacement(const struct kedr_payload *p, const char *name)
{
	unsigned int i;

	for (i = 0; i < p->nr_replacements; i++)
		if (!strcmp(p->replacements[i].name, name))
			return &p->replacements[i];
	return NULL;
}

/* @p claims what it replaces, or nothing (mutex). */
static int kedr_claim(struct kedr_icpt *ic, struct kedr_payload *p)
{
	int err = kedr_set_claims(ic, p, true);

	if (err)
		pr_err("payload %s: cannot claim the functions of %s (%d)\n",
		       p->name, ic->mod->name, err);
	return err;
}

static int kedr_init_wrapper(void);
static void kedr_exit_wrapper(void);

/*
 * The target is attached (its copies are in place, its init has not run):
 * the registered payloads claim their functions and get a reference each,
 * and the target's init and exit are wrapped. Cannot fail.
 */
void kedr_intercept_start(struct kedr_attach_ctx *c)
{
	struct module *mod = c->mod;
	struct kedr_icpt *ic = c->icpt;
	struct kedr_payload *p, *tmp;

	c->icpt = NULL;
	if (!ic) {
		/* A blob without imports (or older than 1.4): hooks only. */
		ic = kzalloc(sizeof(*ic), GFP_KERNEL);
		if (!ic)
			return;	/* payloads will not see this target */
	}
	ic->mod = mod;
	ic->b = c->b;
	ic->place = c->place;
	ic->func_addr = c->func_addr;
	mutex_lock(&kedr_payload_mutex);
	list_for_each_entry_safe(p, tmp, &kedr_payloads, list) {
		/*
		 * Its module is going (delete_module() is past
		 * try_stop_module(), its exit is about to unregister it): no
		 * reference can be taken, and its list node goes with it.
		 * Unlinked, it is done with (kedr_payload_unregister()).
		 */
		if (!try_module_get(p->owner)) {
			pr_info("payload %s: its module is going: left out of %s\n",
				p->name, mod->name);
			list_del_init(&p->list);
			continue;
		}
		if (ic->slot)
			kedr_claim(ic, p);
	}
	/*
	 * A running target's init is gone, and its exit may be read by a
	 * delete_module() at any time: only a target at COMING is wrapped.
	 */
	if (!c->live) {
		ic->init = mod->init;
		ic->exit = mod->exit;
		if (mod->init)
			mod->init = kedr_init_wrapper;
		if (mod->exit)
			mod->exit = kedr_exit_wrapper;
	}
	WRITE_ONCE(kedr_icpt, ic);
	list_for_each_entry(p, &kedr_payloads, list)
		if (p->target_loaded)
			p->target_loaded(mod);
	mutex_unlock(&kedr_payload_mutex);
}

/*
 * The target is going (its exit, if any, has returned; nothing runs its
 * copies any more): the payloads are told, their references dropped.
 */
void kedr_intercept_stop(struct module *mod)
{
	struct kedr_payload *p, *tmp;
	struct kedr_icpt *ic;

	mutex_lock(&kedr_payload_mutex);
	ic = kedr_icpt;
	if (!ic || ic->mod != mod) {
		mutex_unlock(&kedr_payload_mutex);
		return;
	}
	list_for_each_entry(p, &kedr_payloads, list)
		if (p->target_unloading)
			p->target_unloading(mod);
	WRITE_ONCE(kedr_taken_claimed, 0);
	WRITE_ONCE(kedr_any_claimed, 0);
	WRITE_ONCE(kedr_icpt, NULL);
	/* Module state GOING: nothing reads them again. */
	if (mod->init == kedr_init_wrapper)
		mod->init = ic->init;
	if (mod->exit == kedr_exit_wrapper)
		mod->exit = ic->exit;
	list_for_each_entry(p, &kedr_payloads, list)
		module_put(p->owner);
	list_for_each_entry_safe(p, tmp, &kedr_payloads_retired, list) {
		list_del_init(&p->list);
		module_put(p->owner);
	}
	mutex_unlock(&kedr_payload_mutex);
	/* kedr_on_static_call() and kedr_intercept_indirect() may read it. */
	synchronize_rcu();
	kedr_icpt_free(ic);
}

/*
 * Payloads are reached from the copies only through the slots they claimed;
 * one that unregistered (retired) may still have a task inside. Their
 * modules are held (kedr_intercept_start(), kedr_payload_register()) until
 * kedr_intercept_stop(), so their text stays where it is until then.
 */
int kedr_intercept_close(struct module *mod, unsigned int first,
			 struct kedr_range **r, unsigned int *nr)
{
	struct list_head *lists[] = { &kedr_payloads, &kedr_payloads_retired };
	struct kedr_payload *p;
	unsigned int n = first, i;
	int err = 0;

	mutex_lock(&kedr_payload_mutex);
	if (kedr_icpt && kedr_icpt->mod == mod)
		kedr_icpt->closing = true;
	for (i = 0; i < ARRAY_SIZE(lists); i++)
		list_for_each_entry(p, lists[i], list)
			n += p->nr_replacements && p->owner;
	*r = kmalloc_array(n, sizeof(**r), GFP_KERNEL);
	if (!*r) {
		err = -ENOMEM;
		goto out;
	}
	n = first;
	for (i = 0; i < ARRAY_SIZE(lists); i++)
		list_for_each_entry(p, lists[i], list) {
			const struct module_layout *l = &p->owner->core_layout;

			if (!p->nr_replacements || !p->owner)
				continue;
			(*r)[n].lo = (unsigned long)l->base;
			(*r)[n++].hi = (unsigned long)l->base + l->text_size;
		}
	*nr = n;
out:
	mutex_unlock(&kedr_payload_mutex);
	return err;
}

/* Does @p replace a function another registered payload replaces? */
static const char *kedr_conflict(const struct kedr_payload *p,
				 const struct kedr_payload **with)
{
	const struct kedr_payload *q;
	unsigned int i;

	list_for_each_entry(q, &kedr_payloads, list)
		for (i = 0; i < p->nr_replacements; i++)
			if (kedr_find_replacement(q, p->replacements[i].name)) {
				*with = q;
				return p->replacements[i].name;
			}
	return NULL;
}

/* Is @p on @list (mutex)? */
static bool kedr_payload_on(const struct kedr_payload *p,
			    const struct list_head *list)
{
	const struct kedr_payload *q;

	list_for_each_entry(q, list, list)
		if (q == p)
			return true;
	return false;
}

/*
 * A payload registered already is refused (its list node is in use). One
 * that unregistered while the target stays attached is still on the
 * retired list, with its module reference: registering it again moves it
 * back, the reference kept.
 */
int kedr_payload_register(struct kedr_payload *payload)
{
	const struct kedr_payload *other = NULL;
	const char *name;
	struct kedr_icpt *ic;
	bool retired;
	unsigned int i;
	int err = 0;

	if (!payload || !payload->name ||
	    (payload->nr_replacements && !payload->replacements))
		return -EINVAL;
	for (i = 0; i < payload->nr_replacements; i++)
		if (!payload->replacements[i].name ||
		    !payload->replacements[i].handler)
			return -EINVAL;

	mutex_lock(&kedr_payload_mutex);
	if (kedr_payload_on(payload, &kedr_payloads)) {
		pr_err("payload %s is registered already\n", payload->name);
		err = -EBUSY;
		goto out;
	}
	retired = kedr_payload_on(payload, &kedr_payloads_retired);
	name = kedr_conflict(payload, &other);
	if (name) {
		pr_err("payload %s: %s is claimed by payload %s already\n",
		       payload->name, name, other->name);
		err = -EBUSY;
		goto out;
	}
	ic = kedr_icpt;
	if (ic && !retired && !try_module_get(payload->owner)) {
		err = -ENODEV;
		goto out;
	}
	if (ic && ic->slot) {
		err = kedr_claim(ic, payload);
		if (err) {
			if (!retired)
				module_put(payload->owner);
			goto out;
		}
	}
	if (retired)
		list_move_tail(&payload->list, &kedr_payloads);
	else
		list_add_tail(&payload->list, &kedr_payloads);
	if (ic && payload->target_loaded)
		payload->target_loaded(ic->mod);
	pr_info("payload %s registered (%u replacements)\n", payload->name,
		payload->nr_replacements);
out:
	mutex_unlock(&kedr_payload_mutex);
	return err;
}
EXPORT_SYMBOL_GPL(kedr_payload_register);

void kedr_payload_unregister(struct kedr_payload *payload)
{
	struct kedr_icpt *ic;

	mutex_lock(&kedr_payload_mutex);
	/*
	 * On neither list: left out of an attachment while its module was
	 * going (its node emptied), done; or never registered (a node of
	 * zeroes, which list_empty() does not see as empty).
	 */
	if (!kedr_payload_on(payload, &kedr_payloads) &&
	    !kedr_payload_on(payload, &kedr_payloads_retired)) {
		if (!list_empty(&payload->list)) {
			pr_warn("payload %s: unregistered but not registered\n",
				payload->name);
			goto unlock;
		}
		goto out;
	}
	ic = kedr_icpt;
	if (ic && ic->slot)
		kedr_set_claims(ic, payload, false);
	/* Attached: a CPU may still be in a handler (see the top). */
	if (ic)
		list_move_tail(&payload->list, &kedr_payloads_retired);
	else
		list_del_init(&payload->list);
out:
	pr_info("payload %s unregistered\n", payload->name);
unlock:
	mutex_unlock(&kedr_payload_mutex);
}
EXPORT_SYMBOL_GPL(kedr_payload_unregister);

/* The function whose copy holds image offset @off, or -1. */
static int kedr_func_at(const struct kedr_blob *b, u32 off)
{
	u32 i;

	for (i = 0; i < b->nr_funcs; i++)
		if (off - b->funcs[i].copy_offset < b->funcs[i].copy_size)
			return i;
	return -1;
}

bool kedr_get_call_info(unsigned long ret_addr, struct kedr_call_info *info)
{
	const struct kedr_icpt *ic = READ_ONCE(kedr_icpt);
	const struct kedr_blob *b;
	u32 lo, off;
	int f;

	memset(info, 0, sizeof(*info));
	if (!ic)
		return false;
	b = ic->b;
	info->target = ic->mod;
	info->in_init = ic->mod->state == MODULE_STATE_COMING;
	if (ret_addr - ic->place > b->code_size)
		return false;
	off = ret_addr - ic->place;
	/* The calls are sorted by return offset. */
	lo = kedr_lower_bound(b->nr_calls, i, b->calls[i].ret_offset, off);
	if (lo < b->nr_calls && b->calls[lo].ret_offset == off) {
		const struct kedr_call *call = &b->calls[lo];

		f = call->func;
		info->pc = ic->func_addr[f] + call->orig_offset;
	} else {
		/* Not a stub's call: an indirect one, or the function. */
		f = kedr_func_at(b, off - 1);
		if (f < 0)
			return false;
		info->pc = kedr_indirect_call_pc(off);
	}
	info->func = ic->func_addr[b->funcs[f].owner];
	info->func_name = b->funcs[b->funcs[f].owner].name;
	return info->pc != 0;
}
EXPORT_SYMBOL_GPL(kedr_get_call_info);

void kedr_record_event(u8 kind, unsigned long pc, unsigned long addr,
		       u32 size)
{
	const unsigned long *func_addr;
	const struct kedr_blob *b;
	unsigned long flags;

	raw_local_irq_save(flags);
	if (kedr_events_enter(&b, &func_addr))
		kedr_record(kind, KEDR_REC_NO_SITE, pc, addr, size);
	else
		kedr_record_lost(1);
	kedr_events_leave();
	raw_local_irq_restore(flags);
}
EXPORT_SYMBOL_GPL(kedr_record_event);

/*
 * The hooks of one wrapper: the payloads registered when it starts that
 * have one, in registration order (the first runs outermost).
 */
static void kedr_collect_hooks(struct kedr_icpt *ic, bool init)
{
	struct kedr_payload *p;
	unsigned int n = 0;

	mutex_lock(&kedr_payload_mutex);
	list_for_each_entry(p, &kedr_payloads, list)
		n += init ? !!p->init_hook : !!p->exit_hook;
	kfree(ic->hooks);
	ic->hooks = n ? kmalloc_array(n, sizeof(*ic->hooks), GFP_KERNEL) : NULL;
	ic->nr_hooks = 0;
	ic->next_hook = 0;
	if (ic->hooks)
		list_for_each_entry(p, &kedr_payloads, list)
			if (init ? !!p->init_hook : !!p->exit_hook)
				ic->hooks[ic->nr_hooks++] = p;
	mutex_unlock(&kedr_payload_mutex);
}

static int kedr_init_next(void)
{
	struct kedr_icpt *ic = READ_ONCE(kedr_icpt);
	struct kedr_payload *p;

	if (ic->next_hook >= ic->nr_hooks)
		return ic->init();
	p = ic->hooks[ic->next_hook++];
	return p->init_hook(ic->mod, kedr_init_next);
}

static void kedr_exit_next(void)
{
	struct kedr_icpt *ic = READ_ONCE(kedr_icpt);
	struct kedr_payload *p;

	if (ic->next_hook >= ic->nr_hooks) {
		ic->exit();
		return;
	}
	p = ic->hooks[ic->next_hook++];
	p->exit_hook(ic->mod, kedr_exit_next);
}

/* The target's mod->init from COMING on (see the top). */
static int kedr_init_wrapper(void)
{
	kedr_collect_hooks(READ_ONCE(kedr_icpt), true);
	return kedr_init_next();
}

static void kedr_exit_wrapper(void)
{
	kedr_collect_hooks(READ_ONCE(kedr_icpt), false);
	kedr_exit_next();
}
