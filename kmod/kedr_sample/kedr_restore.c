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
 * 2. The 5-byte jmps (entries, landing pads) may be executing: they go back
 *    by text_poke_bp()'s protocol (kedr_poke.c); a CPU that meets one of
 *    their int3s meanwhile goes where the jmp went, to the copy.
 *
 * Nothing else may write those 5 bytes meanwhile: each is checked first to
 * be exactly the jmp attaching wrote (a kprobe someone put there, an int3,
 * makes detach refuse), and ftrace, jump labels and static calls never
 * write there. A kprobe registered at one of them while this runs would
 * lose its int3 (kprobe_mutex and text_mutex are not exported): documented.
 *
 * After this nothing enters the copies through the originals; the caller
 * then stops ftrace and waits for the copies to empty as at a live detach.
 * If ftrace is off for good, its ops cannot be unregistered: the detach is
 * refused half-way, the originals' bytes back and ftrace's entries still
 * going to the copies; a retry does not put the bytes back again.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_attach.h"

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
	struct kedr_alias core = {};
	struct kedr_poke *pokes;
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
	/* The jmps' original bytes; jmps is sorted, and so are these. */
	pokes = n ? kvmalloc_array(n, sizeof(*pokes), GFP_KERNEL) : NULL;
	if (n && !pokes) {
		pr_err("%s: not detached: no room for the %u jmps to put back\n",
		       mod->name, n);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		pokes[i].addr = jmps[i].addr;
		pokes[i].via = jmps[i].dest;
		memcpy(pokes[i].insn, &snap[jmps[i].addr - base],
		       KEDR_POKE_SIZE);
	}
	err = kedr_alias_map(&core, base, size);
	if (err) {
		pr_err("%s: not detached: cannot map its code for writing (%d)\n",
		       mod->name, err);
		goto out_free;
	}
	w = kedr_alias(&core, base);

	/* 1. The int3s of the bodies: nothing executes there. */
	for_each_set_bit(i, body, size)
		w[i] = snap[i];
	kedr_sync_all_cores();

	/* 2. The jmps, as text_poke_bp() would. */
	err = kedr_poke_text(&core, pokes, n, kedr_restore_delay_ms);
	if (err < 0) {
		pr_err("%s: not detached: no die notifier (%d); the bodies are back, the entries still go to the copies\n",
		       mod->name, err);
		goto out;
	}
	pr_info("%s: the originals put back while it runs: %u int3 bytes, then %u jmps (entries and landing pads) through int3 (%d hits)\n",
		mod->name, (unsigned int)bitmap_weight(body, size), n, err);
	err = 0;
out:
	kedr_alias_unmap(&core);
out_free:
	kvfree(pokes);
	return err;
}
