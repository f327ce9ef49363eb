/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The interception's private state, shared by three files:
 *
 * kedr_payload.c       payloads: registration and claims, the attachment
 *                      handed to them (start, stop, close), call info, the
 *                      init and exit wrappers; owns the state below
 * kedr_import_stubs.c  the import stubs and their slots: written at attach,
 *                      their heads rewritten by claims, debugfs "imports"
 * kedr_routing.c       where the copies' calls to claimed imports go (the
 *                      hot paths: indirect branches, static calls)
 *
 * Locking: kedr_payload_mutex guards the list of payloads and the
 * attachment's claims; it is taken by registration and by the notifier
 * (attach, detach), never while a target's code or a hook runs.
 * kedr_icpt is set (kedr_intercept_start()) and cleared
 * (kedr_intercept_stop()) under it, and freed only after an RCU grace
 * period: the hot paths read it and the claim counters without the mutex,
 * with READ_ONCE(); the counters are written under the mutex.
 *
 * Not for the rest of the loader: kedr_attach.h and kedr_sample.h have
 * what it calls.
 */
#ifndef KEDR_INTERCEPT_H
#define KEDR_INTERCEPT_H

#include <linux/mutex.h>
#include <linux/types.h>

struct kedr_blob;
struct kedr_payload;
struct kedr_poke;
struct kedr_replacement;
struct module;

struct kedr_addr_import {
	unsigned long addr;
	u32 import;
};

/* The kernel functions of an attached target, and who claimed them. */
struct kedr_icpt {
	struct module *mod;
	const struct kedr_blob *b;
	unsigned long place;
	const unsigned long *func_addr;
	unsigned long *slot;		/* what stub i jumps to */
	unsigned long *orig;		/* the kernel function of import i */
	struct kedr_payload **owner;	/* who claimed import i, or NULL */
	struct kedr_poke *pokes;	/* room for a poke of every stub */
	/* The kernel functions among the imports, by address. */
	struct kedr_addr_import *by_addr;
	u32 nr_by_addr;
	int (*init)(void);		/* the target's own */
	void (*exit)(void);
	/* The hooks a wrapper runs, nested, and the next one's index. */
	struct kedr_payload **hooks;
	unsigned int nr_hooks;
	unsigned int next_hook;
	bool closing;			/* detaching: no new claims */
};

/* kedr_payload.c's (see there); kedr_any_claimed is in kedr_attach.h. */
extern struct mutex kedr_payload_mutex;
extern struct kedr_icpt *kedr_icpt;
extern unsigned int kedr_taken_claimed;

/* kedr_payload.c: @p's replacement of the function @name, or NULL. */
const struct kedr_replacement *
kedr_find_replacement(const struct kedr_payload *p, const char *name);
/* kedr_import_stubs.c: @p's claimed slots and stub heads set or given back. */
int kedr_set_claims(struct kedr_icpt *ic, struct kedr_payload *p,
		    bool claim);
void kedr_icpt_free(struct kedr_icpt *ic);

#endif /* KEDR_INTERCEPT_H */
