// SPDX-License-Identifier: GPL-2.0
/*
 * Indirect branches as events (KEDR_REC_INDIRECT: @pc the original branch,
 * @addr its destination).
 *
 * With retpolines every indirect call or jmp the compiler emits is a
 * retpoline site, which the copy holds as a live-bytes slot: at attach,
 * once the slots are filled, a slot holding an indirect branch through a
 * register, in any of the forms the kernel gives such a site at boot
 * (`call/jmp __x86_indirect_thunk_REG`, `call/jmp *%REG`, or the same after
 * `lfence`), is made a call or jmp to a stub of its own,
 *
 *	push $index
 *	jmp kedr_indirect_REG		(kedr_indirect.S)
 *
 * which records the branch and goes on through the kernel's thunk for REG:
 * the destination is reached as before, whatever the mitigation mode. A
 * destination inside the target's original code reaches the copy as any
 * call from outside does (entry jmp, ftrace, landing pad). The stubs live
 * in kedr_area right after the code image; without room for them the
 * branches are left as they are (one dmesg line).
 *
 * A branch whose destination is a kernel function the target's data points
 * to (blob 1.6, KEDR_IMPORT_ADDRESS_TAKEN) and a payload claims goes to the
 * payload's handler instead (kedr_intercept_indirect(), kedr_routing.c):
 * the helper passes where its register is saved, and the thunk takes what
 * is there. The handler's return address is just past the slot's call, so
 * the calls' return offsets are kept sorted for kedr_indirect_call_pc().
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/irqflags.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/asm-prototypes.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_record.h"
#include "kedr_attach.h"

#define KEDR_IND_STUB_SIZE	16
#define KEDR_NO_REG		0xff


/* By register number (ModRM order); %rsp has neither. */
static void (* const kedr_ind_helper[16])(void) = {
	kedr_indirect_rax, kedr_indirect_rcx, kedr_indirect_rdx,
	kedr_indirect_rbx, NULL, kedr_indirect_rbp, kedr_indirect_rsi,
	kedr_indirect_rdi, kedr_indirect_r8, kedr_indirect_r9,
	kedr_indirect_r10, kedr_indirect_r11, kedr_indirect_r12,
	kedr_indirect_r13, kedr_indirect_r14, kedr_indirect_r15,
};

/* The kernel's thunks (retpoline_thunk_t, asm/nospec-branch.h). */
static const void * const kedr_ind_thunk[16] = {
	__x86_indirect_thunk_rax, __x86_indirect_thunk_rcx,
	__x86_indirect_thunk_rdx, __x86_indirect_thunk_rbx, NULL,
	__x86_indirect_thunk_rbp, __x86_indirect_thunk_rsi,
	__x86_indirect_thunk_rdi, __x86_indirect_thunk_r8,
	__x86_indirect_thunk_r9, __x86_indirect_thunk_r10,
	__x86_indirect_thunk_r11, __x86_indirect_thunk_r12,
	__x86_indirect_thunk_r13, __x86_indirect_thunk_r14,
	__x86_indirect_thunk_r15,
};

/* The original pc of each stub's branch; read by the handler. */
static unsigned long *kedr_ind_pc;
static u32 kedr_ind_n;
/* The calls among them: return offset in the image, and stub, sorted. */
static struct kedr_ind_ret *kedr_ind_ret;
static u32 kedr_ind_nr_ret;

/*
 * The register of the indirect branch a filled slot holds, KEDR_NO_REG if
 * it holds none; *@jmp: a jmp, not a call.
 */
static u8 kedr_ind_decode(const u8 *s, unsigned int len, unsigned long addr,
			  bool *jmp)
{
	unsigned int at = 0, rex = 0, r;
	unsigned long dest;

	if (len < CALL_INSN_SIZE)
		return KEDR_NO_REG;
	if (s[0] == CALL_INSN_OPCODE || s[0] == JMP32_INSN_OPCODE) {
		dest = addr + CALL_INSN_SIZE + (s32)get_unaligned_le32(s + 1);
		for (r = 0; r < ARRAY_SIZE(kedr_ind_thunk); r++)
			if (kedr_ind_thunk[r] &&
			    dest == (unsigned long)kedr_ind_thunk[r]) {
				*jmp = s[0] == JMP32_INSN_OPCODE;
				return r;
			}
		return KEDR_NO_REG;
	}
	if (len >= 3 && s[0] == 0x0f && s[1] == 0xae && s[2] == 0xe8)
		at = 3;			/* lfence */
	if (at < len && s[at] == 0x41) {
		rex = 8;		/* REX.B */
		at++;
	}
	if (at + 2 > len || s[at] != 0xff)
		return KEDR_NO_REG;
	if ((s[at + 1] & 0xf8) == 0xd0)		/* call *%reg */
		*jmp = false;
	else if ((s[at + 1] & 0xf8) == 0xe0)	/* jmp *%reg */
		*jmp = true;
	else
		return KEDR_NO_REG;
	r = (s[at + 1] & 7) + rex;
	return kedr_ind_helper[r] ? r : KEDR_NO_REG;
}

static int kedr_cmp_ret(const void *a, const void *b)
{
	u32 x = ((const struct kedr_ind_ret *)a)->ret_offset;
	u32 y = ((const struct kedr_ind_ret *)b)->ret_offset;

	return x < y ? -1 : x > y;
}

/*
 * After kedr_fill_patches(), on the private image: each slot holding an
 * indirect branch becomes a branch to its stub; the stubs are prepared in
 * c->ind_stubs for kedr_indirect_publish(). May fail (memory).
 */
int kedr_indirect_prepare(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	unsigned long stubs_at = ALIGN(c->place + b->code_size,
				       KEDR_IND_STUB_SIZE);
	u32 i, n = 0, k = 0;
	bool jmp;

	c->area_len = b->code_size;
	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];

		n += p->kind == KEDR_PATCH_LIVE_BYTES &&
		     kedr_ind_decode(c->image + p->copy_offset, p->slot_length,
				     c->place + p->copy_offset, &jmp) !=
		     KEDR_NO_REG;
	}
	if (!n)
		return 0;
	if (stubs_at + (unsigned long)n * KEDR_IND_STUB_SIZE >
	    (unsigned long)kedr_area + KEDR_AREA_SIZE) {
		pr_warn("%s: no room for %u indirect-branch stubs: no indirect events\n",
			c->mod->name, n);
		return 0;
	}
	c->ind_pc = kvcalloc(n, sizeof(*c->ind_pc), GFP_KERNEL);
	c->ind_ret = kvcalloc(n, sizeof(*c->ind_ret), GFP_KERNEL);
	c->ind_stubs = kvmalloc(n * KEDR_IND_STUB_SIZE, GFP_KERNEL);
	if (!c->ind_pc || !c->ind_ret || !c->ind_stubs) {
		kedr_refuse(c, "out of memory");
		return -ENOMEM;
	}
	c->ind_stubs_at = stubs_at;
	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];
		unsigned long slot_addr = c->place + p->copy_offset;
		unsigned long stub = stubs_at + k * KEDR_IND_STUB_SIZE;
		u8 *slot = c->image + p->copy_offset;
		u8 *s = c->ind_stubs + k * KEDR_IND_STUB_SIZE;
		u8 reg;
		s32 rel;

		if (p->kind != KEDR_PATCH_LIVE_BYTES)
			continue;
		reg = kedr_ind_decode(slot, p->slot_length, slot_addr, &jmp);
		if (reg == KEDR_NO_REG)
			continue;
		/* Both in kedr_area, and the helper in our text: in reach. */
		if (kedr_rel32(stub + 5, JMP32_INSN_SIZE,
			       (unsigned long)kedr_ind_helper[reg], &rel)) {
			kedr_refuse(c, "an indirect-branch stub cannot reach its helper");
			return -ERANGE;
		}
		memset(s, INT3_INSN_OPCODE, KEDR_IND_STUB_SIZE);
		s[0] = 0x68;		/* push $imm32 */
		put_unaligned_le32(k, s + 1);
		s[5] = JMP32_INSN_OPCODE;
		put_unaligned_le32(rel, s + 6);
		if (kedr_rel32(slot_addr, CALL_INSN_SIZE, stub, &rel)) {
			kedr_refuse(c, "an indirect-branch stub is out of reach");
			return -ERANGE;
		}
		memset(slot, 0x90, p->slot_length);	/* NOPs after it */
		slot[0] = jmp ? JMP32_INSN_OPCODE : CALL_INSN_OPCODE;
		put_unaligned_le32(rel, slot + 1);
		if (!jmp) {
			c->ind_ret[c->ind_nr_ret].ret_offset =
				p->copy_offset + CALL_INSN_SIZE;
			c->ind_ret[c->ind_nr_ret++].stub = k;
		}
		c->ind_pc[k++] = c->func_addr[p->func] + p->orig_offset;
	}
	sort(c->ind_ret, c->ind_nr_ret, sizeof(*c->ind_ret), kedr_cmp_ret,
	     NULL);
	c->ind_n = k;
	c->area_len = stubs_at + k * KEDR_IND_STUB_SIZE - c->place;
	return 0;
}

/* With the image, before the copies can run: the stubs and their pcs. */
void kedr_indirect_publish(struct kedr_attach_ctx *c,
			   const struct kedr_alias *area)
{
	if (!c->ind_n)
		return;
	memcpy(kedr_alias(area, c->ind_stubs_at), c->ind_stubs,
	       c->ind_n * KEDR_IND_STUB_SIZE);
	kedr_ind_pc = c->ind_pc;
	kedr_ind_n = c->ind_n;
	kedr_ind_ret = c->ind_ret;
	kedr_ind_nr_ret = c->ind_nr_ret;
	c->ind_pc = NULL;
	c->ind_ret = NULL;
}

/* Attaching failed, or the target is gone and its events stopped. */
void kedr_indirect_free(struct kedr_attach_ctx *c)
{
	kvfree(c->ind_pc);
	kvfree(c->ind_ret);
	kvfree(c->ind_stubs);
	c->ind_pc = NULL;
	c->ind_ret = NULL;
	c->ind_stubs = NULL;
}

/* After kedr_events_stop(): no handler reads them any more. */
void kedr_indirect_stop(void)
{
	kedr_ind_nr_ret = 0;
	kvfree(kedr_ind_ret);
	kedr_ind_ret = NULL;
	kvfree(kedr_ind_pc);
	kedr_ind_pc = NULL;
	kedr_ind_n = 0;
}

/*
 * The original pc of the indirect call whose return address is at image
 * offset @ret_offset (a handler's caller, kedr_get_call_info()), or 0.
 */
unsigned long kedr_indirect_call_pc(u32 ret_offset)
{
	const struct kedr_ind_ret *r = READ_ONCE(kedr_ind_ret);
	u32 lo;

	if (!r)
		return 0;
	lo = kedr_lower_bound(READ_ONCE(kedr_ind_nr_ret), i, r[i].ret_offset,
			      ret_offset);
	if (lo < READ_ONCE(kedr_ind_nr_ret) && r[lo].ret_offset == ret_offset)
		return kedr_ind_pc[r[lo].stub];
	return 0;
}

/*
 * Called by kedr_indirect_REG, with interrupts off; *@to (the saved
 * register, = @dest) is where the branch goes on.
 */
void notrace kedr_on_indirect(u32 index, unsigned long dest,
			      unsigned long *to)
{
	const unsigned long *func_addr;
	const struct kedr_blob *b;
	unsigned long flags;

	raw_local_irq_save(flags);
	if (kedr_events_enter(&b, &func_addr)) {
		if (index < kedr_ind_n)
			kedr_record(KEDR_REC_INDIRECT, KEDR_REC_NO_SITE,
				    kedr_ind_pc[index], dest, 0);
	} else if (b) {
		kedr_record_lost(1);
	}
	kedr_events_leave();
	*to = kedr_intercept_indirect(dest);
	raw_local_irq_restore(flags);
}
