// SPDX-License-Identifier: GPL-2.0
/*
 * The checks of attaching (kedr_attach_check.c): is the live module the
 * binary the blob was built from, and can the copies be entered from it.
 * They read the live module and the blob and change nothing the kernel
 * sees: a refusal leaves the module as the kernel loaded it.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/elf.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <asm/text-patching.h>

#include "kedr_blob.h"
#include "kedr_attach.h"

static const struct module_layout *
kedr_layout(const struct kedr_attach_ctx *c, const struct kedr_func *f)
{
	return (f->flags & KEDR_FUNC_INIT) ? &c->mod->init_layout :
					     &c->mod->core_layout;
}

void kedr_mark_masks(struct kedr_attach_ctx *c, const struct kedr_func *f)
{
	u32 j;

	memset(c->masked, 0, f->size);
	for (j = f->mask_first; j < f->mask_first + f->mask_count; j++)
		memset(c->masked + c->b->masks[j].offset, 1,
		       c->b->masks[j].length);
}

/*
 * FNV-1a 64 of @size live bytes, those marked in @masked read as 0: over
 * 8-byte little-endian words and then the tail bytes with @words, over every
 * byte without (KEDR_BLOB_WORD_DIGEST).
 */
static u64 kedr_digest(const u8 *live, u32 size, const u8 *masked, bool words)
{
	u64 h = KEDR_DIGEST_SEED;
	u32 i = 0, j;

	for (; words && size - i >= sizeof(u64); i += sizeof(u64)) {
		u64 w = 0;

		for (j = sizeof(u64); j-- > 0;)
			w = w << 8 | (masked[i + j] ? 0 : live[i + j]);
		h ^= w;
		h *= KEDR_DIGEST_PRIME;
	}
	for (; i < size; i++) {
		h ^= masked[i] ? 0 : live[i];
		h *= KEDR_DIGEST_PRIME;
	}
	return h;
}

static int kedr_cmp_addr(const void *a, const void *b, const void *priv)
{
	const unsigned long *addr = priv;
	unsigned long x = addr[*(const u32 *)a], y = addr[*(const u32 *)b];

	return x < y ? -1 : x > y;
}

/* Originals must not overlap: each gets its own jmp and int3s. */
static int kedr_check_overlaps(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 *order, i;
	int err = 0;

	if (b->nr_funcs < 2)
		return 0;
	order = kvmalloc_array(b->nr_funcs, sizeof(*order), GFP_KERNEL);
	if (!order)
		return -ENOMEM;
	for (i = 0; i < b->nr_funcs; i++)
		order[i] = i;
	sort_r(order, b->nr_funcs, sizeof(*order), kedr_cmp_addr, NULL,
	       c->func_addr);
	for (i = 1; i < b->nr_funcs; i++) {
		const struct kedr_func *p = &b->funcs[order[i - 1]];
		const struct kedr_func *f = &b->funcs[order[i]];

		if (!c->func_addr[order[i - 1]])
			continue;	/* live attach: init text, gone */
		if (c->func_addr[order[i - 1]] + p->size >
		    c->func_addr[order[i]]) {
			kedr_refuse(c, "functions %s and %s overlap",
				    p->name, f->name);
			err = -EINVAL;
			goto out;
		}
	}
out:
	kvfree(order);
	return err;
}

/* Is the live module the one the blob was built from? */
int kedr_check_live(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	const char *srcversion = c->mod->srcversion ?: "";
	u32 i;

	if (strcmp(c->mod->name, b->target_name)) {
		kedr_refuse(c, "the blob is for module %s", b->target_name);
		return -EINVAL;
	}
	if (strcmp(srcversion, b->target_srcversion)) {
		kedr_refuse(c, "srcversion is \"%s\", the blob was built for \"%s\"",
			    srcversion, b->target_srcversion);
		return -EINVAL;
	}
	if (c->live)
		return kedr_check_overlaps(c);	/* the .ko told the rest */
	if (c->ks->num_symtab != b->target_num_symtab) {
		kedr_refuse(c, "%u symbols, the blob was built for %u: another build of the module?",
			    c->ks->num_symtab, b->target_num_symtab);
		return -EINVAL;
	}
#ifdef CONFIG_STACKTRACE_BUILD_ID
	/* Kept only with this option; else name, symbols, digests say it. */
	if (b->target_build_id_len &&
	    memchr_inv(c->mod->build_id, 0, sizeof(c->mod->build_id)) &&
	    (memcmp(c->mod->build_id, b->target_build_id,
		    b->target_build_id_len) ||
	     memchr_inv(c->mod->build_id + b->target_build_id_len, 0,
			sizeof(c->mod->build_id) - b->target_build_id_len))) {
		kedr_refuse(c, "build-id %*phN, the blob was built for %*phN",
			    (int)sizeof(c->mod->build_id), c->mod->build_id,
			    b->target_build_id_len, b->target_build_id);
		return -EINVAL;
	}
#endif

	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_func *f = &b->funcs[i];
		const Elf_Sym *sym = &c->ks->symtab[f->symidx];
		const char *name = c->ks->strtab + sym->st_name;
		const struct module_layout *l = kedr_layout(c, f);
		unsigned long text = (unsigned long)l->base;
		unsigned long addr = sym->st_value;

		if (strcmp(name, f->name)) {
			kedr_refuse(c, "symbol %u is %s, the blob expects function %s",
				    f->symidx, name, f->name);
			return -EINVAL;
		}
		if (ELF_ST_TYPE(sym->st_info) != STT_FUNC ||
		    sym->st_size != f->size) {
			kedr_refuse(c, "%s: type %u size %llu, the blob expects a function of %u bytes",
				    f->name, ELF_ST_TYPE(sym->st_info),
				    (unsigned long long)sym->st_size, f->size);
			return -EINVAL;
		}
		if (!text || addr < text || addr - text > l->text_size ||
		    f->size > l->text_size - (addr - text)) {
			kedr_refuse(c, "%s at 0x%lx (+%u) is outside the module's %s text",
				    f->name, addr, f->size,
				    (f->flags & KEDR_FUNC_INIT) ? "init" : "core");
			return -EINVAL;
		}
		c->func_addr[i] = addr;
	}

	return kedr_check_overlaps(c);
}

/* Does [start, start + size) overlap [addr, addr + len)? */
static bool kedr_overlaps(const void *start, unsigned int size,
			  unsigned long addr, u32 len)
{
	unsigned long s = (unsigned long)start;

	return s && addr < s + size && s < addr + len;
}

/*
 * Code the kernel forbids instrumenting (kernel/kprobes.c blacklists it for
 * modules): .noinstr.text, .kprobes.text and what NOKPROBE_SYMBOL lists. It
 * runs where RCU may not be watching or per-CPU data not be set up, which
 * the event helpers rely on: a blob that would redirect it is refused.
 */
int kedr_check_noinstr(struct kedr_attach_ctx *c)
{
	struct module *mod = c->mod;
	u32 i;

	for (i = 0; i < c->b->nr_funcs; i++) {
		const struct kedr_func *f = &c->b->funcs[i];
		unsigned long addr = c->func_addr[i];
		const char *why = NULL;
#ifdef CONFIG_KPROBES
		unsigned int j;

		for (j = 0; j < mod->num_kprobe_blacklist && !why; j++)
			if (mod->kprobe_blacklist[j] - addr < f->size)
				why = "on the module's kprobe blacklist (NOKPROBE_SYMBOL)";
		if (kedr_overlaps(mod->kprobes_text_start,
				  mod->kprobes_text_size, addr, f->size))
			why = "in .kprobes.text";
#endif
		if (kedr_overlaps(mod->noinstr_text_start,
				  mod->noinstr_text_size, addr, f->size))
			why = "in .noinstr.text";
		if (why) {
			kedr_refuse(c, "the blob redirects %s, which is %s: the kernel forbids instrumenting it",
				    f->name, why);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Has a loader redirected function @i already (kedr_redirect(): int3 over
 * every byte past the entry but the masked ones)? c->masked is its masks.
 */
static bool kedr_redirected(struct kedr_attach_ctx *c, u32 i)
{
	const u8 *live = (const u8 *)c->func_addr[i];
	u32 j, n = 0;

	for (j = JMP32_INSN_SIZE; j < c->b->funcs[i].size; j++) {
		if (c->masked[j])
			continue;
		if (live[j] != INT3_INSN_OPCODE)
			return false;
		n++;
	}
	return n > 0;
}

/* Do the function digests match? */
int kedr_check_digests(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 i;

	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_func *f = &b->funcs[i];
		u64 digest;

		if (!c->func_addr[i])
			continue;	/* live attach: init text, gone */
		kedr_mark_masks(c, f);
		digest = kedr_digest((const u8 *)c->func_addr[i], f->size,
				     c->masked, b->flags & KEDR_BLOB_WORD_DIGEST);
		if (digest != f->digest && kedr_redirected(c, i)) {
			kedr_refuse(c, "%s is redirected already (int3 over its body): another instance of kedr_sample, loaded under another name, instruments it",
				    f->name);
			return -EBUSY;
		}
		if (digest != f->digest) {
			kedr_refuse(c, "%s differs from what the blob was built from (digest %016llx, expected %016llx)",
				    f->name, digest, f->digest);
			return -EINVAL;
		}
	}
	return 0;
}

static int kedr_cmp_site(const void *a, const void *b)
{
	const struct kedr_live_site *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/*
 * The module's jump labels and static call sites: the kernel rewrites them
 * whenever a key or a static call changes, after checking that they hold
 * what it wrote last (__jump_label_patch(), __static_call_validate() BUG
 * otherwise). Taken from the live module, not from the blob's masks.
 */
int kedr_collect_live_sites(struct kedr_attach_ctx *c)
{
	struct module *mod = c->mod;
	unsigned int n = 0, i;

#ifdef CONFIG_JUMP_LABEL
	n += mod->num_jump_entries;
#endif
#ifdef CONFIG_HAVE_STATIC_CALL_INLINE
	n += max(mod->num_static_call_sites, 0);
#endif
	if (!n)
		return 0;
	c->sites = kvmalloc_array(n, sizeof(*c->sites), GFP_KERNEL);
	if (!c->sites)
		return -ENOMEM;
#ifdef CONFIG_JUMP_LABEL
	for (i = 0; i < mod->num_jump_entries; i++) {
		const struct jump_entry *e = &mod->jump_entries[i];
		struct kedr_live_site *s;
		const u8 *code;

		/* Live attach: sites in the init text are gone with it. */
		if (c->live && !within_module_core(jump_entry_code(e), mod))
			continue;
		s = &c->sites[c->nr_sites++];
		s->addr = jump_entry_code(e);
		code = (const u8 *)s->addr;
		/* 2 bytes: jmp8 or the 2-byte NOP, else a jmp32 or NOP5. */
		s->len = (code[0] == JMP8_INSN_OPCODE ||
			  !memcmp(code, kedr_nop2, sizeof(kedr_nop2))) ?
			 JMP8_INSN_SIZE : JMP32_INSN_SIZE;
	}
#endif
#ifdef CONFIG_HAVE_STATIC_CALL_INLINE
	for (i = 0; i < max(mod->num_static_call_sites, 0); i++) {
		const struct static_call_site *e = &mod->static_call_sites[i];
		struct kedr_live_site *s = &c->sites[c->nr_sites++];

		s->addr = (unsigned long)&e->addr + e->addr;
		s->len = JMP32_INSN_SIZE;
	}
#endif
	sort(c->sites, c->nr_sites, sizeof(*c->sites), kedr_cmp_site, NULL);
	return 0;
}

bool kedr_live_site_in(const struct kedr_attach_ctx *c, unsigned long start,
		       unsigned long len)
{
	/* The first site at or after start - JMP32_INSN_SIZE + 1. */
	u32 lo = kedr_lower_bound(c->nr_sites, i,
				  c->sites[i].addr + JMP32_INSN_SIZE, start + 1);

	for (; lo < c->nr_sites && c->sites[lo].addr < start + len; lo++)
		if (c->sites[lo].addr + c->sites[lo].len > start)
			return true;
	return false;
}

int kedr_check_entry_jumps(struct kedr_attach_ctx *c)
{
	u32 i;
	s32 rel;

	for (i = 0; i < c->b->nr_funcs; i++) {
		const struct kedr_func *f = &c->b->funcs[i];

		if (!c->func_addr[i])
			continue;	/* live attach: init text, gone */
		if (kedr_rel32(c->func_addr[i], JMP32_INSN_SIZE,
			       c->place + f->copy_offset, &rel)) {
			kedr_refuse(c, "%s at 0x%lx: its copy is out of reach of a jmp",
				    f->name, c->func_addr[i]);
			return -ERANGE;
		}
	}
	return 0;
}

/*
 * Landing pads: the jmp goes where the kernel will not write later (no
 * jump label or static call site under it) and reaches the copy. The blob
 * parser checked the rest: inside the function, past its entry, no two
 * overlapping, an instruction boundary of the copy.
 */
int kedr_check_landing_pads(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 i;
	s32 rel;

	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];
		unsigned long at = c->func_addr[p->func] + p->orig_offset;
		const char *fname = b->funcs[p->func].name;

		if (p->kind != KEDR_PATCH_LANDING || !c->func_addr[p->func])
			continue;
		if (kedr_live_site_in(c, at, JMP32_INSN_SIZE)) {
			kedr_refuse(c, "landing pad at %s+0x%x overlaps a jump label or static call site",
				    fname, p->orig_offset);
			return -EINVAL;
		}
		if (kedr_rel32(at, JMP32_INSN_SIZE, c->place + p->copy_offset,
			       &rel)) {
			kedr_refuse(c, "landing pad at %s+0x%x: the copy is out of reach of a jmp",
				    fname, p->orig_offset);
			return -ERANGE;
		}
	}
	return 0;
}
