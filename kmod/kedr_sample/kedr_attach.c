// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching a validated blob to a live module: check that the module is the
 * binary the blob was built from, place the copies in kedr_area, fill in
 * what only the running kernel knows (fixups, live-patch slots), then send
 * every original function to its copy: through ftrace where the function has
 * an fentry site (kedr_ftrace.c), with a jmp over its first bytes where it
 * has none. The kernel keeps patching some bytes of the originals after we
 * are done (jump labels, static calls): those are never overwritten, and a
 * function whose first 5 bytes hold one and that has no fentry site is left
 * as it is (with its .cold parts), and so is a static call trampoline: calls
 * from outside run the original, calls from the copies still run the copy.
 *
 * The order matters: everything that can fail (checks, computations,
 * mappings) happens before the first byte of live code changes, so a
 * refusal leaves the module exactly as the kernel loaded it.
 *
 * kedr_attach() expects the module not to run yet (MODULE_STATE_COMING): it
 * writes the originals without stopping other CPUs. It knows nothing of the
 * module notifier, so attaching to a running module can be added later
 * around it.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/elf.h>
#include <linux/jump_label.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/sort.h>
#include <linux/static_call.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <asm/nops.h>
#include <asm/sync_core.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_sample.h"

/* How an original gets to its copy. */
enum kedr_entry_mode {
	KEDR_VIA_JMP = 0,	/* jmp at the entry, int3 over the rest */
	KEDR_VIA_FTRACE,	/* fentry site kept, int3 over the rest */
	KEDR_KEPT,		/* left as it is: its copy is not used */
};

struct kedr_attachment {
	struct module *mod;
	const struct kedr_blob *blob;
	unsigned long *func_addr;	/* live address of each function */
	unsigned long place;		/* of the code image */
	struct kedr_tables *tables;
	struct kedr_ftrace *ftrace;
	bool init_dropped;
};

/* A site in the original the kernel may rewrite after COMING. */
struct kedr_live_site {
	unsigned long addr;
	unsigned int len;
};

/* What attaching works with; nothing here outlives kedr_attach(). */
struct kedr_attach_ctx {
	struct module *mod;
	const struct kedr_blob *b;
	const struct mod_kallsyms *ks;
	unsigned long *func_addr;
	u8 *masked;		/* scratch: 1 for each masked byte */
	u8 *image;		/* the code image being prepared */
	unsigned long place;	/* where the image will run */
	u8 *mode;		/* enum kedr_entry_mode of each function */
	struct kedr_live_site *sites;	/* sorted by address */
	unsigned int nr_sites;
	struct kedr_tables *tables;
	struct kedr_ftrace *ftrace;
};

/* One line saying why @c's module is left as it is. */
#define kedr_refuse(c, fmt, ...) \
	pr_err("%s: not instrumented: " fmt "\n", (c)->mod->name, ##__VA_ARGS__)

/* The kernel's NOPs (asm/nops.h), the ones x86_64 jump labels use. */
static const u8 kedr_nop2[] = { BYTES_NOP2 };
static const u8 kedr_nop5[] = { BYTES_NOP5 };
static const u8 kedr_nops[ASM_NOP_MAX][ASM_NOP_MAX] = {
	{ BYTES_NOP1 }, { BYTES_NOP2 }, { BYTES_NOP3 }, { BYTES_NOP4 },
	{ BYTES_NOP5 }, { BYTES_NOP6 }, { BYTES_NOP7 }, { BYTES_NOP8 },
};

static const unsigned long kedr_helper_addr[KEDR_HELPER_COUNT_V1] = {
	[KEDR_HELPER_FUNC_EVENT] = (unsigned long)kedr_helper_func_event,
	[KEDR_HELPER_MEM_EVENT] = (unsigned long)kedr_helper_mem_event,
	[KEDR_HELPER_STRING_EVENT] = (unsigned long)kedr_helper_string_event,
	[KEDR_HELPER_BITOP_EVENT] = (unsigned long)kedr_helper_bitop_event,
	[KEDR_HELPER_MEM_EVENT_NOFLAGS] =
		(unsigned long)kedr_helper_mem_event_noflags,
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

static bool kedr_fits_s32(s64 v)
{
	return v == (s64)(s32)v;
}

/* rel32 of an instruction of @insn_len bytes at @from, going to @to. */
static int kedr_rel32(unsigned long from, unsigned int insn_len,
		      unsigned long to, s32 *rel)
{
	s64 d = (s64)(to - (from + insn_len));

	if (!kedr_fits_s32(d))
		return -ERANGE;
	*rel = (s32)d;
	return 0;
}

static const struct module_layout *
kedr_layout(const struct kedr_attach_ctx *c, const struct kedr_func *f)
{
	return (f->flags & KEDR_FUNC_INIT) ? &c->mod->init_layout :
					     &c->mod->core_layout;
}

/* Marks the masked bytes of @f in c->masked[0, f->size). */
static void kedr_mark_masks(struct kedr_attach_ctx *c, const struct kedr_func *f)
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

		if (c->func_addr[order[i - 1]] + p->size >
		    c->func_addr[order[i]]) {
			kedr_refuse(c, "functions %s and %s overlap",
				    p->name, f->name);
			err = -EINVAL;
			break;
		}
	}
	kvfree(order);
	return err;
}

/* Is the live module the one the blob was built from? */
static int kedr_check_live(struct kedr_attach_ctx *c)
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
static int kedr_check_noinstr(struct kedr_attach_ctx *c)
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
static int kedr_check_digests(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 i;

	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_func *f = &b->funcs[i];
		u64 digest;

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
static int kedr_collect_live_sites(struct kedr_attach_ctx *c)
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
		struct kedr_live_site *s = &c->sites[c->nr_sites++];
		const u8 *code;

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

/* Does a live site overlap [start, start + len)? */
static bool kedr_live_site_in(const struct kedr_attach_ctx *c,
			      unsigned long start, unsigned long len)
{
	unsigned int lo = 0, hi = c->nr_sites;

	/* The first site at or after start - JMP32_INSN_SIZE + 1. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (c->sites[mid].addr + JMP32_INSN_SIZE <= start)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < c->nr_sites && c->sites[lo].addr < start + len; lo++)
		if (c->sites[lo].addr + c->sites[lo].len > start)
			return true;
	return false;
}

/*
 * How each original gets to its copy. A function with an fentry site at its
 * entry goes through ftrace; one without gets a jmp over its first 5 bytes,
 * unless the kernel may rewrite some of them later: then it stays as it is,
 * and so do the .cold parts it jumps into and their owner.
 */
static void kedr_plan_entries(struct kedr_attach_ctx *c, bool use_ftrace)
{
	const struct kedr_blob *b = c->b;
	u32 i;

	for (i = 0; i < b->nr_funcs; i++) {
		unsigned long addr = c->func_addr[i];

		/*
		 * A static call trampoline of the module's own: the kernel
		 * rewrites its jmp and checks its signature (ud1) after it.
		 */
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
		if (c->mode[i] == KEDR_KEPT)
			pr_info("%s: %s stays as it is: the kernel may rewrite its first bytes (jump label, static call or trampoline) and it has no fentry site; calls from outside run it uninstrumented\n",
				c->mod->name, b->funcs[i].name);
}

static int kedr_apply_fixups(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 i;

	for (i = 0; i < b->nr_fixups; i++) {
		const struct kedr_fixup *x = &b->fixups[i];
		unsigned long where = c->place + x->offset;
		u8 *field = c->image + x->offset;
		u64 s, v;

		if (x->target == KEDR_TARGET_SYMBOL)
			s = c->ks->symtab[x->index].st_value;
		else
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

static int kedr_fill_patches(struct kedr_attach_ctx *c)
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
		if (p->kind == KEDR_PATCH_LIVE_BYTES)
			err = kedr_fill_live_bytes(c, i, site, slot, slot_addr);
		else
			err = kedr_fill_jump_label(c, i, site, slot, slot_addr);
		if (err)
			return err;
	}
	return 0;
}

static int kedr_check_entry_jumps(struct kedr_attach_ctx *c)
{
	u32 i;
	s32 rel;

	for (i = 0; i < c->b->nr_funcs; i++) {
		const struct kedr_func *f = &c->b->funcs[i];

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
static int kedr_check_landing_pads(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	u32 i;
	s32 rel;

	for (i = 0; i < b->nr_patches; i++) {
		const struct kedr_patch *p = &b->patches[i];
		unsigned long at = c->func_addr[p->func] + p->orig_offset;
		const char *fname = b->funcs[p->func].name;

		if (p->kind != KEDR_PATCH_LANDING)
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

static void kedr_sync_core(void *unused)
{
	sync_core();
}

/* Other CPUs must not run stale instructions from memory we rewrote. */
static void kedr_sync_all_cores(void)
{
	on_each_cpu(kedr_sync_core, NULL, 1);
}

/*
 * Entry jmp to the copy (or the fentry site, left to ftrace); int3 over the
 * rest, except masked bytes and the live sites the kernel rewrites.
 */
static void kedr_redirect(struct kedr_attach_ctx *c, u32 i, u8 *orig)
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
	for (j = JMP32_INSN_SIZE; j < f->size; j++)
		if (!c->masked[j])
			orig[j] = INT3_INSN_OPCODE;
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
static void kedr_write_landing_pads(struct kedr_attach_ctx *c,
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

/* Functions going through ftrace: their sites and copies. */
static int kedr_start_ftrace(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	unsigned long *ips, *dests;
	unsigned int n = 0;
	bool *init;
	u32 i;
	int err = -ENOMEM;

	ips = kvmalloc_array(max(b->nr_funcs, 1U), sizeof(*ips), GFP_KERNEL);
	dests = kvmalloc_array(max(b->nr_funcs, 1U), sizeof(*dests),
			       GFP_KERNEL);
	init = kvmalloc_array(max(b->nr_funcs, 1U), sizeof(*init), GFP_KERNEL);
	if (ips && dests && init) {
		for (i = 0; i < b->nr_funcs; i++) {
			if (c->mode[i] != KEDR_VIA_FTRACE)
				continue;
			ips[n] = c->func_addr[i];
			dests[n] = c->place + b->funcs[i].copy_offset;
			init[n] = b->funcs[i].flags & KEDR_FUNC_INIT;
			n++;
		}
		err = kedr_ftrace_start(n, ips, dests, init, &c->ftrace);
	}
	kvfree(ips);
	kvfree(dests);
	kvfree(init);
	return err;
}

static int kedr_go_live(struct kedr_attach_ctx *c)
{
	const struct kedr_blob *b = c->b;
	struct kedr_alias area = {}, core = {}, init = {};
	bool has_init = false;
	u32 i;
	int err;

	for (i = 0; i < b->nr_funcs; i++)
		has_init |= b->funcs[i].flags & KEDR_FUNC_INIT;

	err = kedr_alias_map(&area, c->place, max(b->code_size, 1U));
	if (!err && b->nr_funcs)
		err = kedr_alias_map(&core,
				     (unsigned long)c->mod->core_layout.base,
				     c->mod->core_layout.text_size);
	if (!err && has_init)
		err = kedr_alias_map(&init,
				     (unsigned long)c->mod->init_layout.base,
				     c->mod->init_layout.text_size);
	if (err) {
		kedr_refuse(c, "cannot map code for writing (%d)", err);
		goto out;
	}

	memcpy(kedr_alias(&area, c->place), c->image, b->code_size);
	kedr_events_start(b, c->func_addr);
	kedr_tables_install(c->tables);
	kedr_sync_all_cores();

	/* From here on calls through ftrace reach the copies. */
	err = kedr_start_ftrace(c);
	if (err == -ENODEV) {
		/* ftrace is off for good (ftrace_bug()): its sites stay. */
		pr_warn("%s: ftrace is disabled: entering the copies with jmps\n",
			c->mod->name);
		kedr_plan_entries(c, false);
		err = 0;
	}
	if (err) {
		kedr_refuse(c, "cannot enter the copies through ftrace (%d)",
			    err);
		kedr_tables_remove(c->tables);
		c->tables = NULL;
		kedr_events_stop();
		memset(kedr_alias(&area, c->place), INT3_INSN_OPCODE,
		       b->code_size);
		kedr_sync_all_cores();
		goto out;
	}

	/* Nothing can fail from here on. */
	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_alias *a =
			(b->funcs[i].flags & KEDR_FUNC_INIT) ? &init : &core;

		kedr_redirect(c, i, kedr_alias(a, c->func_addr[i]));
	}
	kedr_write_landing_pads(c, &core, &init);
	kedr_sync_all_cores();
out:
	kedr_alias_unmap(&init);
	kedr_alias_unmap(&core);
	kedr_alias_unmap(&area);
	return err;
}

int kedr_attach(struct module *mod, const struct kedr_blob *b,
		struct kedr_attachment **out)
{
	struct kedr_attach_ctx c = { .mod = mod, .b = b };
	struct kedr_attachment *att;
	unsigned int n[3] = {};
	int err = -ENOMEM;
	u32 i;

	if (mod->state != MODULE_STATE_COMING) {
		kedr_refuse(&c, "attaching to a running module is not supported yet");
		return -EINVAL;
	}
	/* Lockdown may have come after the blob was loaded. */
	if (security_locked_down(LOCKDOWN_MODULE_SIGNATURE)) {
		kedr_refuse(&c, "the kernel is locked down, and a blob is unsigned code");
		return -EPERM;
	}
	/*
	 * Until do_init_module() switches it to the core copy (after the
	 * COMING notifiers), mod->kallsyms is the module's full .symtab with
	 * final values, and only this thread could change it.
	 */
	c.ks = rcu_dereference_protected(mod->kallsyms,
					 mod->state == MODULE_STATE_COMING);
	c.place = ALIGN((unsigned long)kedr_area, b->code_align);

	att = kzalloc(sizeof(*att), GFP_KERNEL);
	c.func_addr = kvcalloc(max(b->nr_funcs, 1U), sizeof(*c.func_addr),
			       GFP_KERNEL);
	c.masked = kvmalloc(max(b->max_func_size, 1U), GFP_KERNEL);
	c.image = kvmalloc(max(b->code_size, 1U), GFP_KERNEL);
	if (!att || !c.func_addr || !c.masked || !c.image) {
		kedr_refuse(&c, "out of memory");
		goto fail;
	}
	memcpy(c.image, b->code, b->code_size);

	c.mode = kvcalloc(max(b->nr_funcs, 1U), sizeof(*c.mode), GFP_KERNEL);
	if (!c.mode) {
		kedr_refuse(&c, "out of memory");
		goto fail;
	}

	err = kedr_check_live(&c);
	if (!err)
		err = kedr_check_noinstr(&c);
	if (!err)
		err = kedr_check_digests(&c);
	if (!err)
		err = kedr_collect_live_sites(&c);
	if (!err) {
		kedr_plan_entries(&c, kedr_entry_via_ftrace);
		err = kedr_apply_fixups(&c);
	}
	if (!err)
		err = kedr_fill_patches(&c);
	if (!err)
		err = kedr_check_entry_jumps(&c);
	if (!err)
		err = kedr_check_landing_pads(&c);
	if (!err)
		err = kedr_tables_prepare(mod, b, c.func_addr, c.place,
					  &c.tables);
	if (!err)
		err = kedr_go_live(&c);
	if (err)
		goto fail;

	att->mod = mod;
	att->blob = b;
	att->func_addr = c.func_addr;
	att->place = c.place;
	att->tables = c.tables;
	att->ftrace = c.ftrace;
	__module_get(THIS_MODULE);
	for (i = 0; i < b->nr_funcs; i++)
		n[c.mode[i]]++;
	pr_info("%s: attached: %u functions (%u through ftrace, %u by jmp, %u left as they are), %u bytes of code, %u fixups, %u patch slots, %u event sites, %u exception entries, %u bug entries, %u ORC entries\n",
		mod->name, b->nr_funcs, n[KEDR_VIA_FTRACE], n[KEDR_VIA_JMP],
		n[KEDR_KEPT], b->code_size, b->nr_fixups, b->nr_patches,
		b->nr_sites, b->nr_extable, b->nr_bugs, b->nr_orcs);
	kvfree(c.sites);
	kvfree(c.mode);
	kvfree(c.image);
	kvfree(c.masked);
	kedr_obj_new();
	*out = att;
	return 0;

fail:
	if (c.tables)
		kedr_tables_remove(c.tables);
	kvfree(c.sites);
	kvfree(c.mode);
	kvfree(c.image);
	kvfree(c.masked);
	kvfree(c.func_addr);
	kfree(att);
	return err;
}

/*
 * The target's init is done (MODULE_STATE_LIVE) and so is the async work it
 * scheduled (the notifier waited for it); the kernel frees its init text
 * next. The copies of init functions go too: out of the ftrace filter
 * (while their records exist), int3 over them, their names out of kallsyms.
 * Their exception, bug and ORC entries stay: harmless over int3s.
 */
void kedr_attach_live(struct kedr_attachment *att)
{
	const struct kedr_blob *b = att->blob;
	struct kedr_alias area = {};
	u32 i, n = 0;

	if (att->init_dropped)
		return;
	att->init_dropped = true;
	for (i = 0; i < b->nr_funcs; i++)
		n += !!(b->funcs[i].flags & KEDR_FUNC_INIT);
	if (!n)
		return;
	kedr_ftrace_drop_init(att->ftrace);
	kedr_tables_drop_init(att->tables);
	if (!kedr_alias_map(&area, att->place, b->code_size)) {
		for (i = 0; i < b->nr_funcs; i++) {
			const struct kedr_func *f = &b->funcs[i];

			if (f->flags & KEDR_FUNC_INIT)
				memset(kedr_alias(&area, att->place +
						  f->copy_offset),
				       INT3_INSN_OPCODE, f->copy_size);
		}
		kedr_alias_unmap(&area);
		kedr_sync_all_cores();
	}
	pr_info("%s: init done: %u copies of init functions dropped\n",
		att->mod->name, n);
}

/*
 * The module is going away (MODULE_STATE_GOING): its code no longer runs,
 * async work its init or exit scheduled included (the notifier waited for
 * it). The copies are retired (int3 over them, in case anything still jumps
 * there) and the area can be reused.
 */
void kedr_detach(struct kedr_attachment *att)
{
	struct kedr_alias area = {};
	u32 size = att->blob->code_size;

	/* ftrace's sites back to NOPs first: the module still exists. */
	kedr_ftrace_stop(att->ftrace);
	kedr_events_stop();
	kedr_tables_remove(att->tables);
	if (size && !kedr_alias_map(&area, att->place, size)) {
		memset(kedr_alias(&area, att->place), INT3_INSN_OPCODE, size);
		kedr_alias_unmap(&area);
		kedr_sync_all_cores();
	}
	pr_info("%s: detached\n", att->mod->name);
	kvfree(att->func_addr);
	kfree(att);
	kedr_obj_gone();
	module_put(THIS_MODULE);
}
