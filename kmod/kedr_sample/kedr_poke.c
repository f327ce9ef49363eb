// SPDX-License-Identifier: GPL-2.0
/*
 * Rewriting 5-byte instructions that other CPUs may be executing.
 * text_poke_bp() is not exported to modules on 6.1, nor text_poke() or
 * text_mutex, so its protocol is followed here, with the same steps and
 * the same guarantees (arch/x86/kernel/alternative.c): int3 over the first
 * byte of every instruction, all CPUs serialized; the other four bytes,
 * serialized; the first byte, serialized.
 *
 * While an int3 is there, a CPU that hits it goes where the caller says
 * (the poke's @via: where the old or the new instruction would have sent
 * it): a die notifier (register_die_notifier(), exported; do_int3() calls
 * it for an int3 kprobes does not own, in any context, NMIs included) sets
 * regs->ip. A CPU that hit it just before the first byte came back is sent
 * back to that byte by kprobes (kprobe_int3_handler(): "the breakpoint
 * instruction was removed right after we hit it"). Unregistering the
 * notifier waits for an RCU grace period, so no CPU is still inside it
 * after.
 *
 * Users: a detach from a target attached at COMING (kedr_restore.c: the
 * entry and landing-pad jmps back to the original bytes) and the import
 * stubs' first jmp when a payload claims a function or gives it back
 * (kedr_import_stubs.c). Each keeps its own pokes: the callers serialize on
 * their own mutexes, and two batches in flight each find only their own
 * addresses.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/kdebug.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/notifier.h>
#include <linux/ptrace.h>
#include <asm/text-patching.h>

#include "kedr_attach.h"

struct kedr_poker {
	struct notifier_block nb;
	const struct kedr_poke *p;	/* sorted by addr */
	unsigned int n;
	atomic_t hits;			/* CPUs sent on by an int3 */
};

static int kedr_poke_int3(struct notifier_block *nb, unsigned long val,
			  void *data)
{
	struct kedr_poker *k = container_of(nb, struct kedr_poker, nb);
	struct pt_regs *regs = ((struct die_args *)data)->regs;
	unsigned long at = regs->ip - INT3_INSN_SIZE;
	u32 lo;

	if (val != DIE_INT3 || user_mode(regs))
		return NOTIFY_DONE;
	lo = kedr_lower_bound(k->n, i, k->p[i].addr, at);
	if (lo == k->n || k->p[lo].addr != at)
		return NOTIFY_DONE;
	regs->ip = k->p[lo].via;
	atomic_inc(&k->hits);
	return NOTIFY_STOP;
}
NOKPROBE_SYMBOL(kedr_poke_int3);

int kedr_poke_text(const struct kedr_alias *w, const struct kedr_poke *p,
		   unsigned int n, unsigned int delay_ms)
{
	struct kedr_poker k = {
		/*
		 * As early in the die chain as a module can be: a notifier
		 * before ours that runs code being poked here would meet its
		 * int3 again, recursively. Equal priorities run in the order
		 * registered, so kprobes' and hw_breakpoint's (INT_MAX too,
		 * from boot; neither runs module code) still come first, and
		 * so would a target's own INT_MAX notifier: one that calls
		 * into its copies is not supported (DEVELOPERS.md).
		 */
		.nb = { .notifier_call = kedr_poke_int3, .priority = INT_MAX },
		.p = p,
		.n = n,
	};
	unsigned int i;
	int err;

	if (!n)
		return 0;
	err = register_die_notifier(&k.nb);
	if (err)
		return err;
	for (i = 0; i < n; i++)
		WRITE_ONCE(*kedr_alias(w, p[i].addr), INT3_INSN_OPCODE);
	kedr_sync_all_cores();
	/* Tests: CPUs running the code meet the int3s meanwhile. */
	if (delay_ms)
		msleep(min(delay_ms, 10000U));
	for (i = 0; i < n; i++)
		memcpy(kedr_alias(w, p[i].addr) + 1, &p[i].insn[1],
		       KEDR_POKE_SIZE - 1);
	kedr_sync_all_cores();
	for (i = 0; i < n; i++)
		WRITE_ONCE(*kedr_alias(w, p[i].addr), p[i].insn[0]);
	kedr_sync_all_cores();
	unregister_die_notifier(&k.nb);
	return atomic_read(&k.hits);
}
