/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KEDR payloads: what kedr_sample.ko offers other modules that want to see
 * or change the calls the instrumented target makes to kernel functions,
 * and run code around the target's init and exit (seed 000).
 *
 * How a call reaches a payload. In the copies, a direct call or tail call
 * to a kernel function F goes to an import stub of the code image, one per
 * F, which jumps straight to F until a payload claims F, and from then
 * on through F's dispatch slot, which holds the payload's handler. An
 * unclaimed call costs the stub's direct jmp. The stub is rewritten while
 * the target runs, so kedr_payload_register() and kedr_payload_unregister()
 * sleep (IPIs and an RCU grace period) while a target is attached, and
 * registering can then fail (-ENOMEM, or -EBUSY if a stub was rewritten
 * by someone else, a kprobe say). An indirect call of the copies to F,
 * when the target's data holds F's address (an ops table), and a static
 * call whose trampoline jumps to F are routed through the same slot.
 *
 * A handler has F's prototype and is called with the original arguments,
 * in the target's context. It may call F itself (a payload module is not
 * instrumented), before, after or instead of the work it does. It learns
 * where the call came from with kedr_get_call_info() on its own return
 * address. A tail call leaves no return address in the target: its info
 * then says so (pc 0).
 *
 * Payloads may be registered before or after the target loads; a function
 * is claimed by at most one payload (the second gets -EBUSY and one dmesg
 * line naming the function and both payloads). Registering a registered
 * payload gets -EBUSY; one unregistered may register again (while the
 * target stays attached too). Unregistering twice, or a payload never
 * registered (its struct zeroed), is harmless (the latter: one warning).
 * kedr_sample holds a reference on each registered payload's module while
 * a target is attached; a payload whose module is going (unloading, its
 * exit not yet at kedr_payload_unregister()) when a target attaches is
 * left out of it.
 */
#ifndef KEDR_PAYLOAD_H
#define KEDR_PAYLOAD_H

#include <linux/list.h>
#include <linux/types.h>

struct module;

/* Where a call to an intercepted function was made. */
struct kedr_call_info {
	unsigned long pc;	/* original address of the call insn; 0: not known */
	unsigned long func;	/* original address of the calling function */
	const char *func_name;	/* its name, NULL if not known */
	struct module *target;
	bool in_init;		/* the target's init was running (state COMING) */
};

/* @handler replaces calls to the kernel function @name (same prototype). */
struct kedr_replacement {
	const char *name;
	void *handler;
};

struct kedr_payload {
	struct module *owner;		/* THIS_MODULE */
	const char *name;		/* for messages: usually KBUILD_MODNAME */
	const struct kedr_replacement *replacements;
	unsigned int nr_replacements;
	/*
	 * Around the target's init and exit: @orig is the original (it runs
	 * the instrumented copy); the hook calls it or not and returns what
	 * init should return. Any of these may be NULL.
	 */
	int (*init_hook)(struct module *target, int (*orig)(void));
	void (*exit_hook)(struct module *target, void (*orig)(void));
	/*
	 * Once the copies are in place, before the target's init runs; and
	 * after the target's exit ran, before its copies are retired. Both
	 * run under kedr_sample's payload mutex: they must not register or
	 * unregister a payload (a deadlock).
	 */
	void (*target_loaded)(struct module *target);
	void (*target_unloading)(struct module *target);

	struct list_head list;		/* kedr_sample's */
};

int kedr_payload_register(struct kedr_payload *payload);
void kedr_payload_unregister(struct kedr_payload *payload);

/*
 * Fills @info for a handler whose return address is @ret_addr
 * (__builtin_return_address(0) in the handler). Returns false, with pc 0,
 * when @ret_addr is not in the target's copies (a tail call). Only from a
 * handler or hook while it runs: the attachment @info names (the target's
 * module included) is freed once the target has gone, which nothing else
 * waits for.
 */
bool kedr_get_call_info(unsigned long ret_addr, struct kedr_call_info *info);

/*
 * Records an event without a site in kedr_sample's own stream, ordered
 * with the target's memory events of the same CPU (kedr_record.h,
 * KEDR_REC_*). @pc is an original address of the target (the call site),
 * @addr the object (lock, work item, allocation).
 */
void kedr_record_event(u8 kind, unsigned long pc, unsigned long addr,
		       u32 size);

#endif /* KEDR_PAYLOAD_H */
