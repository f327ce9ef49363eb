// SPDX-License-Identifier: GPL-2.0
/*
 * The bytes of attaching (kedr_attach_patch.c): what only the running kernel
 * knows, filled into the code image (fixups, live-patch slots); how each
 * original is entered (ftrace, a jmp, or not at all); and, once everything
 * that can fail is done, the originals rewritten: an entry jmp, int3 over
 * the rest, jmps at the landing pads.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/smp.h>
#include <linux/string.h>
#include <asm/nops.h>
#include <asm/sync_core.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_attach.h"

/* The kernel's NOPs (asm/nops.h), the ones x86_64 jump labels use. */
const u8 kedr_nop2[2] = { BYTES_NOP2 };
const u8 kedr_nop5[5] = { BYTES_NOP5 };
static const u8 kedr_nops[ASM_NOP_MAX][ASM_NOP_MAX] = {
	{ BYTES_NOP1 }, { BYTES_NOP2 }, { BYTES_NOP3 }, { BYTES_NOP4 },
	{ BYTES_NOP5 }, { BYTES_NOP6 }, { BYTES_NOP7 }, { BYTES_NOP8 },
};

static const unsigned long kedr_helper_addr[KEDR_HELPER_COUNT_V1_5] = {
	[KEDR_HELPER_FUNC_EVENT] = (unsigned long)kedr_helper_func_event,
	[KEDR_HELPER_MEM_EVENT] = (unsigned long)kedr_helper_mem_event,
	[KEDR_HELPER_STRING_EVENT] = (unsigned long)kedr_helper_string_event,
	[KEDR_HELPER_BITOP_EVENT] = (unsigned long)kedr_helper_bitop_event,
	[KEDR_HELPER_MEM_EVENT_NOFLAGS] =
		(unsigned long)kedr_helper_mem_event_noflags,
	[KEDR_HELPER_PROBE] = (unsigned long)kedr_helper_probe,
};

static void kedr_fill_nops(u8 *p, unsigned int len)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len, ASM_NOP_MAX);

		memcpy(p, kedr_nops[n - 1], n);
		p += n;
		len -= n;
	}
}

/*
 * How each original gets to its copy. A function with an fentry site at its
 * entry goes through ftrace; one without gets a jmp over its first 5 bytes,
 * unless the kernel may rewrite some of them later: then it stays as it is,
 * and so do the .cold parts it jumps into and their owner.
 */
void kedr_plan_entries(struct kedr_attach_ctx *c, bool use_ftrace)
{
	const struct kedr_blob *b = c->b;
	u32 i;

	for (i = 0; i < b->nr_funcs; i++) {
		unsigned long addr = c->func_addr[i];

		/*
		 * A static call trampoline of the module's own: the kernel
		 * rewrites its jmp and checks its signature (ud1) after it.
		 */
		if (!addr) {	/* live attach: an init function, gone */
			c->mode[i] = KEDR_KEPT;
			continue;
		}
		if (str_has_prefix(b->funcs[i].name, "__SCT__")) {
			c->mode[i] = KEDR_KEPT;
			continue;
		}
		if (use_ftrace && !(b->funcs[i].flags & KEDR_FUNC_PART) &&
		    kedr_ftrace_site(c->mod, addr))
			c->mode[i] = KEDR_VIA_FTRACE;
		else if (kedr_live_site_in(c, addr, JMP32_INSN_SIZE))
			c->mode[i] = KEDR_KEPT;
		else
			c->mode[i] = KEDR_VIA_JMP;
	}
	/* A family is copied or kept as a whole. */
	for (i = 0; i < b->nr_funcs; i++)
		if (c->mode[i] == KEDR_KEPT)
			c->mode[b->funcs[i].owner] = KEDR_KEPT;
	for (i = 0; i < b->nr_funcs; i++)
		if (c->mode[b->funcs[i].owner] == KEDR_KEPT)
			c->mode[i] = KEDR_KEPT;
	for (i = 0; i < b->nr_funcs; i++)
		if (c->mode[i] == KEDR_KEPT && c->func_addr[i])
			pr_info("%s: %s stays as it is: the kernel may rewrite its first bytes (jump label, static call or trampoline) and it has no fentry site; calls from outside run it uninstrumented\n",
				c->mod->name, b->funcs[i].name);
}

/* Is @offset of the image inside the copy of an init function? */
static bool kedr_in_init_copy(const struct kedr_attach_ctx *c, u32 offset)
{
	u32 i;

	for (i = 0; i < c->b->nr_funcs; i++) {
		const struct kedr_func *f = &c->b->funcs[i];

		if ((f->flags & KEDR_FUNC_INIT) &&
		    offset - f->copy_offset < f->copy_size)
			return true;
	}
	return false;
}

int kedr_apply_fixups(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 i;

	for (i = 0; i < b->nr_fixups; i++) {
		const struct kedr_fixup *x = &b->fixups[i];
		unsigned long where = c->place + x->offset;
		u8 *field = c->image + x->offset;
		u64 s, v;

		if (x->target == KEDR_TARGET_SYMBOL) {
			s = c->symval[x->index];
			/* Live attach: a symbol only init code used, gone. */
			if (!s && c->live && kedr_in_init_copy(c, x->offset))
				continue;
			if (!s && c->live) {
				kedr_refuse(c, "fixups[%u] (code offset 0x%x): symbol %u has no known address in the running module",
					    i, x->offset, x->index);
				return -ENOENT;
			}
		} else
			s = kedr_helper_addr[x->index];
		v = s + (u64)x->addend;

		switch (x->type) {
		case KEDR_FIXUP_PC32:
			v -= where;
			if (!kedr_fits_s32((s64)v))
				goto range;
			put_unaligned_le32((u32)v, field);
			break;
		case KEDR_FIXUP_ABS32S:
			if (!kedr_fits_s32((s64)v))
				goto range;
			put_unaligned_le32((u32)v, field);
			break;
		case KEDR_FIXUP_ABS64:
			put_unaligned_le64(v, field);
			break;
		}
		continue;
range:
		kedr_refuse(c, "fixups[%u] (type %u, %s %u%+lld at code offset 0x%x): value 0x%llx does not fit in 32 bits",
			    i, x->type,
			    x->target == KEDR_TARGET_SYMBOL ? "symbol" : "helper",
			    x->index, x->addend, x->offset, v);
		return -ERANGE;
	}
	return 0;
}

/* Is @addr inside the original of an instrumented function? */
static const struct kedr_func *kedr_in_original(struct kedr_attach_ctx *c,
						unsigned long addr)
{
	u32 i;

	for (i = 0; i < c->b->nr_funcs; i++)
		if (addr - c->func_addr[i] < c->b->funcs[i].size)
			return &c->b->funcs[i];
	return NULL;
}

/* Does @insn start with a relative branch (call, jmp, jcc, loop, jrcxz)? */
static bool kedr_is_branch(const u8 *insn, unsigned int len)
{
	u8 op = insn[0];

	if (op == CALL_INSN_OPCODE || op == JMP32_INSN_OPCODE ||
	    op == JMP8_INSN_OPCODE)
		return true;
	if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3))
		return true;
	return op == 0x0f && len >= 2 && (insn[1] & 0xf0) == 0x80;
}

/*
 * A slot for an alternative: the live bytes, with a leading call/jmp kept
 * going where it goes in the original. That is all apply_alternatives()
 * itself relocates; a relative branch elsewhere in a replacement would be
 * wrong in the original too.
 */
static int kedr_fill_live_bytes(struct kedr_attach_ctx *c, u32 i,
				unsigned long site, u8 *slot,
				unsigned long slot_addr)
{
	const struct kedr_patch *p = &c->b->patches[i];
	const u8 *live = (const u8 *)site;
	const char *fname = c->b->funcs[p->func].name;
	const struct kedr_func *into;
	unsigned long dest;
	s32 rel;
	u8 op = live[0];

	if (!kedr_is_branch(live, p->length)) {
		memcpy(slot, live, p->length);
		kedr_fill_nops(slot + p->length, p->slot_length - p->length);
		return 0;
	}
	if ((op == CALL_INSN_OPCODE || op == JMP32_INSN_OPCODE) &&
	    p->length >= JMP32_INSN_SIZE) {
		dest = site + JMP32_INSN_SIZE +
		       (s32)get_unaligned_le32(live + 1);
		memcpy(slot, live, p->length);
		kedr_fill_nops(slot + p->length, p->slot_length - p->length);
	} else if (op == JMP8_INSN_OPCODE && p->length >= JMP8_INSN_SIZE &&
		   p->slot_length >= JMP32_INSN_SIZE) {
		/* recompute_jump() may have shrunk a jmp: widen it again. */
		dest = site + JMP8_INSN_SIZE + (s8)live[1];
		slot[0] = JMP32_INSN_OPCODE;
		kedr_fill_nops(slot + JMP32_INSN_SIZE,
			       p->slot_length - JMP32_INSN_SIZE);
	} else {
		kedr_refuse(c, "patches[%u] (%s+0x%x): relative instruction %*ph in a %u-byte site, %u-byte slot: cannot move it",
			    i, fname, p->orig_offset, min_t(int, p->length, 8),
			    live, p->length, p->slot_length);
		return -EINVAL;
	}

	/* A branch into an original would land on int3s. */
	into = kedr_in_original(c, dest);
	if (into) {
		kedr_refuse(c, "patches[%u] (%s+0x%x): live branch to %s+0x%lx, which has no known place in the copies",
			    i, fname, p->orig_offset, into->name,
			    dest - c->func_addr[into - c->b->funcs]);
		return -EINVAL;
	}
	if (kedr_rel32(slot_addr, JMP32_INSN_SIZE, dest, &rel)) {
		kedr_refuse(c, "patches[%u] (%s+0x%x): branch to 0x%lx out of reach of the copy",
			    i, fname, p->orig_offset, dest);
		return -ERANGE;
	}
	put_unaligned_le32((u32)rel, slot + 1);
	return 0;
}

/* A jump label: the live state (jmp or NOP), aimed inside the copies. */
static int kedr_fill_jump_label(struct kedr_attach_ctx *c, u32 i,
				unsigned long site, u8 *slot,
				unsigned long slot_addr)
{
	const struct kedr_patch *p = &c->b->patches[i];
	const u8 *live = (const u8 *)site;
	const u8 *nop = p->length == 2 ? kedr_nop2 : kedr_nop5;
	s32 rel;

	if ((p->length == 2 && live[0] == JMP8_INSN_OPCODE) ||
	    (p->length == 5 && live[0] == JMP32_INSN_OPCODE)) {
		if (kedr_rel32(slot_addr, JMP32_INSN_SIZE,
			       c->place + p->target_copy_offset, &rel))
			return -ERANGE;	/* both are in the area */
		slot[0] = JMP32_INSN_OPCODE;
		put_unaligned_le32((u32)rel, slot + 1);
		kedr_fill_nops(slot + JMP32_INSN_SIZE,
			       p->slot_length - JMP32_INSN_SIZE);
		return 0;
	}
	if (!memcmp(live, nop, p->length)) {
		kedr_fill_nops(slot, p->slot_length);
		return 0;
	}
	kedr_refuse(c, "patches[%u] (%s+0x%x): jump label site holds %*ph, neither a jmp nor the kernel's NOP",
		    i, c->b->funcs[p->func].name, p->orig_offset,
		    (int)p->length, live);
	return -EINVAL;
}

int kedr_fill_patches(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 i;
	int err;

	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];
		unsigned long site = c->func_addr[p->func] + p->orig_offset;
		u8 *slot = c->image + p->copy_offset;
		unsigned long slot_addr = c->place + p->copy_offset;

		if (p->kind == KEDR_PATCH_LANDING)
			continue;	/* written by kedr_write_landing_pads() */
		if (!c->func_addr[p->func])
			continue;	/* live attach: init text, gone */
		if (p->kind == KEDR_PATCH_LIVE_BYTES)
			err = kedr_fill_live_bytes(c, i, site, slot, slot_addr);
		else
			err = kedr_fill_jump_label(c, i, site, slot, slot_addr);
		if (err)
			return err;
	}
	return 0;
}

static void kedr_sync_core(void *unused)
{
	sync_core();
}

void kedr_sync_all_cores(void)
{
	on_each_cpu(kedr_sync_core, NULL, 1);
}

/*
 * Entry jmp to the copy (or the fentry site, left to ftrace); int3 over the
 * rest, except masked bytes and the live sites the kernel rewrites.
 */
void kedr_redirect(struct kedr_attach_ctx *c, u32 i, u8 *orig)
{
	const struct kedr_func *f = &c->b->funcs[i];
	unsigned long addr = c->func_addr[i];
	u32 j;
	s32 rel;

	if (c->mode[i] == KEDR_KEPT)
		return;
	/*
	 * Masked bytes are where the kernel writes (jump labels, static
	 * calls...), and may write again later expecting its own bytes:
	 * they are left as they are, and so is any live site the masks
	 * missed. Never reached anyway.
	 */
	kedr_mark_masks(c, f);
	for (j = 0; j < c->nr_sites; j++) {
		const struct kedr_live_site *s = &c->sites[j];
		unsigned long k;

		for (k = s->addr; k < s->addr + s->len; k++)
			if (k - addr < f->size)
				c->masked[k - addr] = 1;
	}
	for (j = JMP32_INSN_SIZE; j < f->size; j++) {
		if (c->masked[j])
			continue;
		orig[j] = INT3_INSN_OPCODE;
		if (c->body && !(f->flags & KEDR_FUNC_INIT))
			__set_bit(addr + j - (unsigned long)c->mod->core_layout.base,
				  c->body);
	}
	if (c->mode[i] == KEDR_VIA_FTRACE)
		return;
	/* In reach: checked by kedr_check_entry_jumps(). */
	kedr_rel32(addr, JMP32_INSN_SIZE, c->place + f->copy_offset, &rel);
	orig[0] = JMP32_INSN_OPCODE;
	put_unaligned_le32((u32)rel, orig + 1);
}

/*
 * Where the module's data points into a redirected original (a jump table,
 * a computed goto), a jmp to the same place in the copy, over the int3s.
 */
void kedr_write_landing_pads(struct kedr_attach_ctx *c,
			     const struct kedr_alias *core,
			     const struct kedr_alias *init)
{
	const struct kedr_blob *b = c->b;
	u32 i;
	s32 rel;

	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];
		unsigned long at = c->func_addr[p->func] + p->orig_offset;
		const struct kedr_alias *a =
			(b->funcs[p->func].flags & KEDR_FUNC_INIT) ? init : core;
		u8 *orig;

		if (p->kind != KEDR_PATCH_LANDING ||
		    c->mode[p->func] == KEDR_KEPT)
			continue;
		/* In reach: checked by kedr_check_landing_pads(). */
		kedr_rel32(at, JMP32_INSN_SIZE, c->place + p->copy_offset, &rel);
		orig = kedr_alias(a, at);
		orig[0] = JMP32_INSN_OPCODE;
		put_unaligned_le32((u32)rel, orig + 1);
	}
}
