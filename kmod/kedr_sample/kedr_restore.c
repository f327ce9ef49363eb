// SPDX-License-Identifier: GPL-2.0
/*
 * Detaching from a target that was attached at MODULE_STATE_COMING and runs
 * now: its originals were rewritten (kedr_attach_patch.c) while nothing ran
 * them, an entry jmp to the copy where ftrace does not enter it, a jmp at
 * each landing pad, int3 over the rest of each body. Every byte written
 * goes back from the snapshot taken before attaching, while the target
 * runs:
 *
 * 1. The int3-filled bytes first, with plain stores through a writable
 *    alias, then every CPU serialized (sync_core()). Nothing executes
 *    them: an original is entered only at its entry (a jmp, or ftrace,
 *    which still sends the CPU to the copy) or at a landing pad (a jmp),
 *    and no return address points into one (the target's code never ran
 *    before the originals were rewritten, at COMING). Bytes next to them
 *    that the kernel may rewrite (jump label, static call sites) were never
 *    written and are not now.
 * 2. The 5-byte jmps (entries, landing pads) may be executing. text_poke_bp()
 *    is not exported to modules on 6.1, nor text_poke() or text_mutex, so
 *    its protocol is followed here, with the same steps and the same
 *    guarantees (arch/x86/kernel/alternative.c): int3 over the first byte
 *    of every jmp, all CPUs serialized; the other four bytes, serialized;
 *    the first byte, serialized. While an int3 is there, a CPU that hits
 *    it goes where the jmp went: a die notifier (register_die_notifier(),
 *    exported; do_int3() calls it for an int3 kprobes does not own, in any
 *    context, NMIs included) sets regs->ip to the copy. A CPU that hit it
 *    just before the first byte came back is sent back to that byte by
 *    kprobes (kprobe_int3_handler(): "the breakpoint instruction was
 *    removed right after we hit it"). Unregistering the notifier waits for
 *    an RCU grace period, so no CPU is still inside it after.
 *
 * Nothing else may write those 5 bytes meanwhile: each is checked first to
 * be exactly the jmp attaching wrote (a kprobe someone put there, an int3,
 * makes detach refuse), and ftrace, jump labels and static calls never
 * write there. A kprobe registered at one of them while this runs would
 * lose its int3 (kprobe_mutex and text_mutex are not exported): documented.
 *
 * After this nothing enters the copies through the originals; the caller
 * then stops ftrace and waits for the copies to empty as at a live detach.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/kdebug.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_attach.h"

struct kedr_restorer {
	struct notifier_block nb;
	const struct kedr_jmp *jmps;	/* sorted by addr */
	unsigned int n;
	atomic_t hits;			/* CPUs sent on by an int3 */
};

static int kedr_restore_int3(struct notifier_block *nb, unsigned long val,
			     void *data)
{
	struct kedr_restorer *r = container_of(nb, struct kedr_restorer, nb);
	struct pt_regs *regs = ((struct die_args *)data)->regs;
	unsigned long at = regs->ip - INT3_INSN_SIZE;
	unsigned int lo = 0, hi = r->n;

	if (val != DIE_INT3 || user_mode(regs))
		return NOTIFY_DONE;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (r->jmps[mid].addr < at)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == r->n || r->jmps[lo].addr != at)
		return NOTIFY_DONE;
	regs->ip = r->jmps[lo].dest;
	atomic_inc(&r->hits);
	return NOTIFY_STOP;
}
NOKPROBE_SYMBOL(kedr_restore_int3);

static int kedr_jmp_cmp(const void *a, const void *b)
{
	const struct kedr_jmp *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void kedr_sort_jmps(struct kedr_jmp *jmps, unsigned int n)
{
	sort(jmps, n, sizeof(*jmps), kedr_jmp_cmp, NULL);
}

/* Is the jmp at @j what attaching wrote? */
static bool kedr_jmp_intact(const struct kedr_jmp *j)
{
	const u8 *p = (const u8 *)j->addr;
	s32 rel;

	if (kedr_rel32(j->addr, JMP32_INSN_SIZE, j->dest, &rel))
		return false;
	return p[0] == JMP32_INSN_OPCODE &&
	       (s32)get_unaligned_le32(p + 1) == rel;
}

int kedr_restore_originals(struct module *mod, const u8 *snap,
			   const unsigned long *body, const struct kedr_jmp *jmps,
			   unsigned int n)
{
	unsigned long base = (unsigned long)mod->core_layout.base;
	unsigned int size = mod->core_layout.text_size, i;
	struct kedr_restorer r = {
		/*
		 * First of the die chain, as poke_int3_handler() runs before
		 * any: a notifier before ours entered by one of these jmps
		 * (the target's own) would meet its int3 again, recursively.
		 */
		.nb = { .notifier_call = kedr_restore_int3, .priority = INT_MAX },
		.jmps = jmps,
		.n = n,
	};
	struct kedr_alias core = {};
	u8 *w;
	int err;

	for (i = 0; i < n; i++) {
		if (!kedr_jmp_intact(&jmps[i])) {
			pr_err("%s: not detached: %pS holds %5ph, not the jmp to its copy written at attach (a kprobe?)\n",
			       mod->name, (void *)jmps[i].addr,
			       (void *)jmps[i].addr);
			return -EBUSY;
		}
	}
	err = kedr_alias_map(&core, base, size);
	if (err) {
		pr_err("%s: not detached: cannot map its code for writing (%d)\n",
		       mod->name, err);
		return err;
	}
	w = kedr_alias(&core, base);

	/* 1. The int3s of the bodies: nothing executes there. */
	for_each_set_bit(i, body, size)
		w[i] = snap[i];
	kedr_sync_all_cores();

	/* 2. The jmps, as text_poke_bp() would. */
	err = register_die_notifier(&r.nb);
	if (err) {
		pr_err("%s: not detached: no die notifier (%d); the bodies are back, the entries still go to the copies\n",
		       mod->name, err);
		goto out;
	}
	for (i = 0; i < n; i++)
		WRITE_ONCE(w[jmps[i].addr - base], INT3_INSN_OPCODE);
	kedr_sync_all_cores();
	/* Tests: CPUs running the target meet the int3s meanwhile. */
	if (kedr_restore_delay_ms)
		msleep(min(kedr_restore_delay_ms, 10000U));
	for (i = 0; i < n; i++) {
		unsigned long off = jmps[i].addr - base;

		memcpy(&w[off + 1], &snap[off + 1], JMP32_INSN_SIZE - 1);
	}
	kedr_sync_all_cores();
	for (i = 0; i < n; i++) {
		unsigned long off = jmps[i].addr - base;

		WRITE_ONCE(w[off], snap[off]);
	}
	kedr_sync_all_cores();
	unregister_die_notifier(&r.nb);
	pr_info("%s: the originals put back while it runs: %u int3 bytes, then %u jmps (entries and landing pads) through int3 (%d hits)\n",
		mod->name, (unsigned int)bitmap_weight(body, size), n,
		atomic_read(&r.hits));
out:
	kedr_alias_unmap(&core);
	return err;
}
