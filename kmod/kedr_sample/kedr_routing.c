// SPDX-License-Identifier: GPL-2.0
/*
 * Where the copies' calls to claimed imports go, on the hot paths: the
 * imports by address (kedr_import_at()), calls through the target's
 * pointers (kedr_intercept_indirect()) and static calls
 * (kedr_on_static_call()). The stubs and slots are kedr_import_stubs.c's.
 *
 * Calls through the target's pointers (blob 1.6). An import flagged
 * KEDR_IMPORT_ADDRESS_TAKEN is a kernel function whose address the target's
 * data holds. Every indirect call or jmp of the copies enters
 * kedr_indirect_REG (kedr_indirect.c), which asks kedr_intercept_indirect()
 * where to go: while no such import is claimed (kedr_taken_claimed, one
 * load) the destination as it is; else, if the destination is one of them
 * (a binary search of their addresses, sorted at attach), what its slot
 * holds. A handler called that way finds its caller through the indirect
 * site's return address (kedr_indirect_call_pc()). Calls the kernel makes
 * through the same pointer are not the copies' and are not routed.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/kernel.h>
#include <linux/preempt.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_attach.h"
#include "kedr_intercept.h"

/* The import of the function at @addr, or -1. */
static int notrace kedr_import_at(const struct kedr_icpt *ic,
				  unsigned long addr)
{
	u32 lo = kedr_lower_bound(ic->nr_by_addr, i, ic->by_addr[i].addr,
				  addr);

	if (lo < ic->nr_by_addr && ic->by_addr[lo].addr == addr)
		return ic->by_addr[lo].import;
	return -1;
}

/*
 * From kedr_on_indirect(), interrupts off: where an indirect branch of the
 * copies to @dest goes (see the top).
 */
unsigned long notrace kedr_intercept_indirect(unsigned long dest)
{
	const struct kedr_icpt *ic;
	int i;

	if (likely(!READ_ONCE(kedr_taken_claimed)))
		return dest;
	ic = READ_ONCE(kedr_icpt);
	if (!ic)
		return dest;
	i = kedr_import_at(ic, dest);
	if (i < 0 || !(ic->b->imports[i].flags & KEDR_IMPORT_ADDRESS_TAKEN))
		return dest;
	return READ_ONCE(ic->slot[i]);
}

/*
 * Where a static call trampoline (at @tramp) jumps: a jmp rel32's
 * destination, or 0 (a ret, or being rewritten: static_call_update() goes
 * through text_poke_bp(), which puts an int3 at the first byte while it
 * writes the rest). Read twice: equal reads starting with the jmp opcode
 * are a whole instruction.
 */
static unsigned long notrace kedr_tramp_dest(unsigned long tramp)
{
	const u8 *t = (const u8 *)tramp;
	u8 x[JMP32_INSN_SIZE], y[JMP32_INSN_SIZE];
	unsigned int k;

	for (k = 0; k < JMP32_INSN_SIZE; k++)
		x[k] = READ_ONCE(t[k]);
	/* the second read after the first (text_poke_bp() orders its writes) */
	smp_rmb();
	for (k = 0; k < JMP32_INSN_SIZE; k++)
		y[k] = READ_ONCE(t[k]);
	if (x[0] != JMP32_INSN_OPCODE || memcmp(x, y, sizeof(x)))
		return 0;
	return tramp + JMP32_INSN_SIZE + (s32)get_unaligned_le32(x + 1);
}

/*
 * From kedr_static_call_slow (a static call stub of the copies, while a
 * payload claims an import): where a call to the trampoline at @tramp goes,
 * the trampoline itself or, if it currently jumps to a claimed import, that
 * import's slot.
 */
unsigned long notrace kedr_on_static_call(unsigned long tramp)
{
	const struct kedr_icpt *ic;
	unsigned long dest, to = tramp;
	int i;

	/*
	 * A tail call leaves no return address in the copies: a detach may
	 * find no task inside them while this one is here. kedr_icpt is
	 * freed only after a grace period (kedr_intercept_stop()).
	 */
	preempt_disable_notrace();
	ic = READ_ONCE(kedr_icpt);
	if (ic) {
		dest = kedr_tramp_dest(tramp);
		i = dest ? kedr_import_at(ic, dest) : -1;
		if (i >= 0 && READ_ONCE(ic->owner[i]))
			to = READ_ONCE(ic->slot[i]);
	}
	preempt_enable_notrace();
	return to;
}
