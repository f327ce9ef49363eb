// SPDX-License-Identifier: GPL-2.0
/*
 * The tables the kernel looks code up in, for the copies. The copies run
 * inside kedr_sample (kedr_area), so every lookup by address - exception
 * table (search_exception_tables), bug table (report_bug), ORC (the stack
 * unwinder) and kallsyms (%pS, stack traces) - lands on kedr_sample's
 * struct module. While a target is attached, THIS_MODULE's tables are
 * replaced by merged ones: kedr_sample's own entries plus the copies' ones
 * from the blob (1.1 tables), relocated to where the copies run.
 *
 * The exception table and ORC hold 32-bit self-relative offsets, so they
 * live in module space too: kedr_ro_tables (read-only NOBITS, written
 * through a vmap() alias); the bug table in kedr_rw_tables (report_bug()
 * writes BUGFLAG_DONE into it). Symbol names are ordinary kernel memory.
 *
 * Readers take no lock (RCU-sched at most) and read a pointer and a count
 * separately, so a switch goes count = 0, pointer, count = n; a switch back
 * is followed by synchronize_rcu() before the memory is reused.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/bug.h>
#include <linux/elf.h>
#include <linux/extable.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <asm/extable_fixup_types.h>
#include <asm/orc_types.h>

#include "kedr_blob.h"
#include "kedr_sample.h"

/* kedr_blob.h states what the blob's tables may hold; it is these. */
static_assert(KEDR_EX_TYPE_MASK == EX_DATA_TYPE_MASK);
static_assert(KEDR_EX_TYPE_MIN == EX_TYPE_DEFAULT);
static_assert(KEDR_EX_TYPE_MAX == EX_TYPE_ZEROPAD);
static_assert(KEDR_EX_TYPE_BPF == EX_TYPE_BPF);
static_assert(KEDR_EX_FLAG_MASK == EX_DATA_FLAG_MASK);
static_assert(KEDR_EX_FLAG_SHIFT == EX_DATA_FLAG_SHIFT);
static_assert(KEDR_EX_FLAG_MAX << KEDR_EX_FLAG_SHIFT == EX_FLAG_CLEAR_AX_DX);
static_assert(KEDR_BUG_KNOWN_FLAGS == (BUGFLAG_WARNING | BUGFLAG_ONCE |
				       BUGFLAG_DONE | BUGFLAG_NO_CUT_HERE));
static_assert(BUGFLAG_TAINT(1) == 1 << KEDR_BUG_TAINT_SHIFT);
static_assert(KEDR_BUG_TAINT_COUNT == TAINT_FLAGS_COUNT);

static_assert(sizeof(struct orc_entry) == sizeof(((struct kedr_orc *)0)->entry));

struct kedr_abs_extable {
	unsigned long insn;
	unsigned long fixup;
	int data;
};

struct kedr_abs_orc {
	unsigned long ip;
	struct orc_entry orc;
	bool call;	/* added for a helper call (KEDR_BLOB_CALL_ORC) */
};

struct kedr_tables {
	/* kedr_sample's own, as the module loader set them up. */
	struct exception_table_entry *own_ex;
	unsigned int own_nex;
	struct bug_entry *own_bugs;
	unsigned int own_nbugs;
	int *own_orc_ip;
	struct orc_entry *own_orc;
	unsigned int own_norcs;
	struct mod_kallsyms *own_ks;

	/* The merged ones, at their final places. */
	struct exception_table_entry *ex;
	unsigned int nex;
	int *orc_ip;
	struct orc_entry *orc;
	unsigned int norcs;
	struct bug_entry *bugs;
	unsigned int nbugs;
	struct mod_kallsyms *ks;	/* with the copies' names */
	struct mod_kallsyms *ks_core;	/* the same without init copies */

	/* Prepared contents of the reserves, copied there on install. */
	void *ro_image;
	size_t ro_size;
	void *rw_image;
	size_t rw_size;
	struct kedr_alias ro_alias;	/* of kedr_ro_tables */
	bool installed;
};

static bool kedr_fits_rel(unsigned long to, unsigned long at)
{
	s64 d = (s64)(to - at);

	return d == (s64)(s32)d;
}

static int kedr_cmp_ex(const void *a, const void *b)
{
	const struct kedr_abs_extable *x = a, *y = b;

	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

/* As the kernel sorts ORC: by ip, weak section terminators first. */
static int kedr_cmp_orc(const void *a, const void *b)
{
	const struct kedr_abs_orc *x = a, *y = b;
	bool xweak, yweak;

	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	xweak = x->orc.sp_reg == ORC_REG_UNDEFINED && !x->orc.end;
	yweak = y->orc.sp_reg == ORC_REG_UNDEFINED && !y->orc.end;
	if (xweak != yweak)
		return yweak - xweak;
	/* A helper call's entry after the blob's own: that one is kept. */
	return x->call - y->call;
}

/* The blob's ORC entry in effect at @offset of the code image, or NULL. */
static const struct kedr_orc *kedr_orc_at(const struct kedr_blob *b, u32 offset)
{
	u32 lo = 0, hi = b->nr_orcs;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (b->orcs[mid].copy_offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &b->orcs[lo - 1] : NULL;
}

/*
 * KEDR_BLOB_CALL_ORC: each helper call's entries, from the state S at its
 * push: S and 8 more bytes from the call on, S again after it. Nothing where
 * S does not compute the CFA from %rsp (the pushes do not change it then).
 */
static unsigned int kedr_add_call_orcs(const struct kedr_blob *b,
				       unsigned long place,
				       struct kedr_abs_orc *abs)
{
	unsigned int n = 0, i;

	if (!(b->flags & KEDR_BLOB_CALL_ORC))
		return 0;
	for (i = 0; i < b->nr_fixups; i++) {
		const struct kedr_fixup *x = &b->fixups[i];
		const struct kedr_orc *s;
		struct orc_entry state;

		if (x->target != KEDR_TARGET_HELPER)
			continue;
		s = kedr_orc_at(b, x->offset - KEDR_CALL_FIELD);
		if (!s)
			continue;
		memcpy(&state, s->entry, sizeof(state));
		if (state.sp_reg != ORC_REG_SP)
			continue;
		abs[n].ip = place + x->offset - 1;
		abs[n].orc = state;
		abs[n].orc.sp_offset += 8;
		abs[n].call = true;
		n++;
		abs[n].ip = place + x->offset + 4;
		abs[n].orc = state;
		abs[n].call = true;
		n++;
	}
	return n;
}

static void kedr_tables_free(struct kedr_tables *t)
{
	kedr_alias_unmap(&t->ro_alias);
	kvfree(t->ro_image);
	kvfree(t->rw_image);
	if (t->ks) {
		kvfree(t->ks->symtab);
		kvfree(t->ks->strtab);
		kvfree(t->ks->typetab);
		kfree(t->ks);
	}
	if (t->ks_core) {
		kvfree(t->ks_core->symtab);
		kvfree(t->ks_core->strtab);
		kvfree(t->ks_core->typetab);
		kfree(t->ks_core);
	}
	kfree(t);
}

static int kedr_build_extable(struct kedr_tables *t, const struct kedr_blob *b,
			      const struct mod_kallsyms *tks,
			      unsigned long place, unsigned long at, u8 *img)
{
	struct kedr_abs_extable *abs;
	unsigned int n = t->own_nex + b->nr_extable, i;
	int err = 0;

	abs = kvmalloc_array(max(n, 1U), sizeof(*abs), GFP_KERNEL);
	if (!abs)
		return -ENOMEM;
	for (i = 0; i < t->own_nex; i++) {
		const struct exception_table_entry *e = &t->own_ex[i];

		abs[i].insn = (unsigned long)&e->insn + e->insn;
		abs[i].fixup = (unsigned long)&e->fixup + e->fixup;
		abs[i].data = e->data;
	}
	for (i = 0; i < b->nr_extable; i++) {
		const struct kedr_extable *x = &b->extable[i];
		struct kedr_abs_extable *a = &abs[t->own_nex + i];

		a->insn = place + x->insn_copy;
		if (x->fixup_copy != KEDR_NO_COPY)
			a->fixup = place + x->fixup_copy;
		else
			a->fixup = tks->symtab[x->fixup_symidx].st_value +
				   x->fixup_addend;
		a->data = (int)x->data;
	}
	sort(abs, n, sizeof(*abs), kedr_cmp_ex, NULL);

	for (i = 0; i < n; i++) {
		struct exception_table_entry *e =
			(struct exception_table_entry *)img + i;
		unsigned long final = at + i * sizeof(*e);

		if (!kedr_fits_rel(abs[i].insn, final) ||
		    !kedr_fits_rel(abs[i].fixup, final + 4)) {
			pr_err("exception table entry for 0x%lx -> 0x%lx is out of reach of the table at 0x%lx\n",
			       abs[i].insn, abs[i].fixup, final);
			err = -ERANGE;
			break;
		}
		e->insn = (int)(abs[i].insn - final);
		e->fixup = (int)(abs[i].fixup - (final + 4));
		e->data = abs[i].data;
	}
	t->nex = n;
	kvfree(abs);
	return err;
}

/* Drops a helper call's entry where another entry has the same address. */
static unsigned int kedr_drop_shadowed_calls(struct kedr_abs_orc *abs,
					     unsigned int n)
{
	unsigned int i, kept = 0;

	for (i = 0; i < n; i++) {
		if (abs[i].call && kept && abs[kept - 1].ip == abs[i].ip)
			continue;
		abs[kept++] = abs[i];
	}
	return kept;
}

static int kedr_build_orc(struct kedr_tables *t, const struct kedr_blob *b,
			  unsigned long place, unsigned long ip_at, u8 *ip_img,
			  u8 *orc_img)
{
	const unsigned long area = (unsigned long)kedr_area;
	struct kedr_abs_orc *abs;
	unsigned int n = 0, i;
	bool end_entry = b->nr_orcs &&
			 b->orcs[b->nr_orcs - 1].copy_offset == b->code_size;
	int err = 0;

	/* Zeroed: an entry is not a helper call's (->call) unless said. */
	abs = kvcalloc(t->own_norcs + b->nr_orcs + b->nr_call_orcs + 1,
		       sizeof(*abs), GFP_KERNEL);
	if (!abs)
		return -ENOMEM;
	/* Ours, except whatever covers the area: the copies' entries do. */
	for (i = 0; i < t->own_norcs; i++) {
		unsigned long ip = (unsigned long)&t->own_orc_ip[i] +
				   t->own_orc_ip[i];

		if (ip >= area && ip < area + KEDR_AREA_SIZE)
			continue;
		abs[n].ip = ip;
		abs[n].orc = t->own_orc[i];
		n++;
	}
	for (i = 0; i < b->nr_orcs; i++) {
		abs[n].ip = place + b->orcs[i].copy_offset;
		memcpy(&abs[n].orc, b->orcs[i].entry, sizeof(abs[n].orc));
		n++;
	}
	n += kedr_add_call_orcs(b, place, abs + n);
	/* Past the last copy: nothing to unwind (int3s or zeroes). */
	if (b->nr_orcs && !end_entry) {
		abs[n].ip = place + b->code_size;
		abs[n].orc.sp_reg = ORC_REG_UNDEFINED;
		abs[n].orc.bp_reg = ORC_REG_UNDEFINED;
		abs[n].orc.end = 1;
		n++;
	}
	sort(abs, n, sizeof(*abs), kedr_cmp_orc, NULL);
	n = kedr_drop_shadowed_calls(abs, n);

	for (i = 0; i < n; i++) {
		unsigned long final = ip_at + i * sizeof(int);

		if (!kedr_fits_rel(abs[i].ip, final)) {
			pr_err("ORC entry for 0x%lx is out of reach of the table at 0x%lx\n",
			       abs[i].ip, final);
			err = -ERANGE;
			break;
		}
		((int *)ip_img)[i] = (int)(abs[i].ip - final);
		((struct orc_entry *)orc_img)[i] = abs[i].orc;
	}
	t->norcs = n;
	kvfree(abs);
	return err;
}

static int kedr_build_bugs(struct kedr_tables *t, const struct kedr_blob *b,
			   const struct mod_kallsyms *tks, unsigned long place)
{
	struct bug_entry *img = t->rw_image;
	unsigned int i;

	for (i = 0; i < t->nbugs; i++) {
		struct bug_entry *e = &img[i];
		unsigned long final = (unsigned long)&t->bugs[i];
		unsigned long addr, file;
		unsigned short line, flags;

		if (i < t->own_nbugs) {
			const struct bug_entry *o = &t->own_bugs[i];

			addr = (unsigned long)&o->bug_addr_disp +
			       o->bug_addr_disp;
			file = (unsigned long)&o->file_disp + o->file_disp;
			line = o->line;
			flags = o->flags;
		} else {
			const struct kedr_bug *x = &b->bugs[i - t->own_nbugs];

			addr = place + x->copy_offset;
			file = tks->symtab[x->file_symidx].st_value +
			       x->file_addend;
			line = x->line;
			flags = x->flags;
		}
		if (!kedr_fits_rel(addr, final) ||
		    !kedr_fits_rel(file, final + 4)) {
			pr_err("bug table entry for 0x%lx is out of reach of the table at 0x%lx\n",
			       addr, final);
			return -ERANGE;
		}
		e->bug_addr_disp = (int)(addr - final);
		e->file_disp = (int)(file - (final + 4));
		e->line = line;
		e->flags = flags;
	}
	return 0;
}

/*
 * A copy's name: the function's, with a suffix. Not the bare name: kprobe
 * events refuse a name defined twice (-EADDRNOTAVAIL), and lookups by name
 * must keep finding the original.
 */
#define KEDR_COPY_SUFFIX	".kedr"

/*
 * kedr_sample's symbols plus one per copy (init copies only if @init). The
 * copies' come first, after the null symbol: of symbols with the same value
 * kallsyms picks the first, and the first copy starts at kedr_area.
 */
static struct mod_kallsyms *kedr_build_kallsyms(const struct mod_kallsyms *own,
						const struct kedr_blob *b,
						unsigned long place, bool init)
{
	struct mod_kallsyms *ks;
	unsigned int n = own->num_symtab, i, j;
	size_t own_str = 1, str, len;
	unsigned int shndx = 1;

	if (!own->num_symtab)
		return NULL;
	for (i = 0; i < own->num_symtab; i++) {
		const char *name = own->strtab + own->symtab[i].st_name;

		own_str = max_t(size_t, own_str,
				own->symtab[i].st_name + strlen(name) + 1);
		if (!strcmp(name, "kedr_area"))
			shndx = own->symtab[i].st_shndx;
	}
	str = own_str;
	for (i = 0; i < b->nr_funcs; i++) {
		if (!init && (b->funcs[i].flags & KEDR_FUNC_INIT))
			continue;
		str += strlen(b->funcs[i].name) + sizeof(KEDR_COPY_SUFFIX);
		n++;
	}

	ks = kzalloc(sizeof(*ks), GFP_KERNEL);
	if (!ks)
		return NULL;
	ks->symtab = kvcalloc(n, sizeof(*ks->symtab), GFP_KERNEL);
	ks->strtab = kvmalloc(str, GFP_KERNEL);
	ks->typetab = kvmalloc(n, GFP_KERNEL);
	if (!ks->symtab || !ks->strtab || !ks->typetab) {
		kvfree(ks->symtab);
		kvfree(ks->strtab);
		kvfree(ks->typetab);
		kfree(ks);
		return NULL;
	}
	n -= own->num_symtab;	/* copies */
	ks->symtab[0] = own->symtab[0];
	ks->typetab[0] = own->typetab[0];
	memcpy(ks->symtab + 1 + n, own->symtab + 1,
	       (own->num_symtab - 1) * sizeof(*ks->symtab));
	memcpy(ks->typetab + 1 + n, own->typetab + 1, own->num_symtab - 1);
	memcpy(ks->strtab, own->strtab, own_str);
	str = own_str;
	j = 1;
	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_func *f = &b->funcs[i];
		Elf_Sym *sym = &ks->symtab[j];

		if (!init && (f->flags & KEDR_FUNC_INIT))
			continue;
		len = strlen(f->name);
		memcpy(ks->strtab + str, f->name, len);
		memcpy(ks->strtab + str + len, KEDR_COPY_SUFFIX,
		       sizeof(KEDR_COPY_SUFFIX));
		len += sizeof(KEDR_COPY_SUFFIX);
		sym->st_name = str;
		sym->st_value = place + f->copy_offset;
		sym->st_size = f->copy_size;
		sym->st_info = (STB_LOCAL << 4) | STT_FUNC;
		sym->st_shndx = shndx;
		ks->typetab[j] = 't';
		str += len;
		j++;
	}
	ks->num_symtab = n + own->num_symtab;
	return ks;
}

int kedr_tables_prepare(struct module *mod, const struct kedr_blob *b,
			const unsigned long *func_addr, unsigned long place,
			struct kedr_tables **out)
{
	struct module *self = THIS_MODULE;
	const struct mod_kallsyms *tks;
	unsigned long ro = (unsigned long)kedr_ro_tables;
	size_t ex_size, ip_size, orc_size;
	unsigned int max_orcs;
	struct kedr_tables *t;
	int err = -ENOMEM;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	/* The target is COMING: its kallsyms is the full, final symtab. */
	tks = rcu_dereference_protected(mod->kallsyms, 1);

	t->own_ex = self->extable;
	t->own_nex = self->num_exentries;
	t->own_bugs = self->bug_table;
	t->own_nbugs = self->num_bugs;
	t->own_orc_ip = self->arch.orc_unwind_ip;
	t->own_orc = self->arch.orc_unwind;
	t->own_norcs = self->arch.num_orcs;
	/* kedr_sample is LIVE: this is its core_kallsyms, which stays. */
	t->own_ks = rcu_dereference_protected(self->kallsyms, 1);
	if (!t->own_orc_ip || !t->own_orc)
		t->own_norcs = 0;

	/* Layout of kedr_ro_tables: extable, ORC ips, ORC entries. */
	ex_size = (size_t)(t->own_nex + b->nr_extable) *
		  sizeof(struct exception_table_entry);
	max_orcs = t->own_norcs + b->nr_orcs + b->nr_call_orcs + 1;
	ip_size = (size_t)max_orcs * sizeof(int);
	orc_size = (size_t)max_orcs * sizeof(struct orc_entry);
	t->ro_size = ex_size + ip_size + orc_size;
	t->nbugs = t->own_nbugs + b->nr_bugs;
	t->rw_size = (size_t)t->nbugs * sizeof(struct bug_entry);
	if (t->ro_size > KEDR_RO_TABLES_SIZE ||
	    t->rw_size > KEDR_RW_TABLES_SIZE) {
		pr_err("%s: not instrumented: its tables (%zu + %zu bytes) do not fit in the reserves (%u + %u bytes)\n",
		       mod->name, t->ro_size, t->rw_size,
		       KEDR_RO_TABLES_SIZE, KEDR_RW_TABLES_SIZE);
		err = -E2BIG;
		goto fail;
	}
	t->ex = (struct exception_table_entry *)ro;
	t->orc_ip = (int *)(ro + ex_size);
	t->orc = (struct orc_entry *)(ro + ex_size + ip_size);
	t->bugs = (struct bug_entry *)kedr_rw_tables;

	t->ro_image = kvzalloc(max_t(size_t, t->ro_size, 1), GFP_KERNEL);
	t->rw_image = kvzalloc(max_t(size_t, t->rw_size, 1), GFP_KERNEL);
	if (!t->ro_image || !t->rw_image)
		goto fail;

	err = kedr_build_extable(t, b, tks, place, ro, t->ro_image);
	if (!err)
		err = kedr_build_orc(t, b, place, (unsigned long)t->orc_ip,
				     (u8 *)t->ro_image + ex_size,
				     (u8 *)t->ro_image + ex_size + ip_size);
	if (!err)
		err = kedr_build_bugs(t, b, tks, place);
	if (err) {
		pr_err("%s: not instrumented: cannot build its exception, bug or ORC table (%d)\n",
		       mod->name, err);
		goto fail;
	}

	err = -ENOMEM;
	t->ks = kedr_build_kallsyms(t->own_ks, b, place, true);
	t->ks_core = kedr_build_kallsyms(t->own_ks, b, place, false);
	if (!t->ks || !t->ks_core)
		goto fail;
	err = kedr_alias_map(&t->ro_alias, (unsigned long)kedr_ro_tables,
			     max_t(size_t, t->ro_size, 1));
	if (err) {
		pr_err("%s: not instrumented: cannot map the table reserve (%d)\n",
		       mod->name, err);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	kedr_tables_free(t);
	return err;
}

/* Before the copies can run; cannot fail. */
void kedr_tables_install(struct kedr_tables *t)
{
	struct module *self = THIS_MODULE;

	memcpy(kedr_alias(&t->ro_alias, (unsigned long)kedr_ro_tables),
	       t->ro_image, t->ro_size);
	memcpy(kedr_rw_tables, t->rw_image, t->rw_size);
	kedr_alias_unmap(&t->ro_alias);
	kvfree(t->ro_image);
	t->ro_image = NULL;
	kvfree(t->rw_image);
	t->rw_image = NULL;

	WRITE_ONCE(self->num_exentries, 0);
	WRITE_ONCE(self->num_bugs, 0);
	WRITE_ONCE(self->arch.num_orcs, 0);
	/* Empty tables before new pointers: never a count past a table. */
	smp_wmb();
	WRITE_ONCE(self->extable, t->ex);
	WRITE_ONCE(self->bug_table, t->bugs);
	WRITE_ONCE(self->arch.orc_unwind_ip, t->orc_ip);
	WRITE_ONCE(self->arch.orc_unwind, t->orc);
	/* The new tables, written above, before their counts. */
	smp_wmb();
	WRITE_ONCE(self->num_exentries, t->nex);
	WRITE_ONCE(self->num_bugs, t->nbugs);
	WRITE_ONCE(self->arch.num_orcs, t->norcs);
	rcu_assign_pointer(self->kallsyms, t->ks);
	t->installed = true;
}

/* Init copies are gone (MODULE_STATE_LIVE): so are their names. */
void kedr_tables_drop_init(struct kedr_tables *t)
{
	struct mod_kallsyms *full = t->ks;

	if (!t->installed || !t->ks_core)
		return;
	rcu_assign_pointer(THIS_MODULE->kallsyms, t->ks_core);
	t->ks = t->ks_core;
	t->ks_core = NULL;
	synchronize_rcu();
	kvfree(full->symtab);
	kvfree(full->strtab);
	kvfree(full->typetab);
	kfree(full);
}

/* The copies cannot run any more: back to kedr_sample's own tables. */
void kedr_tables_remove(struct kedr_tables *t)
{
	struct module *self = THIS_MODULE;

	if (t->installed) {
		rcu_assign_pointer(self->kallsyms, t->own_ks);
		WRITE_ONCE(self->num_exentries, 0);
		WRITE_ONCE(self->num_bugs, 0);
		WRITE_ONCE(self->arch.num_orcs, 0);
		/* Empty tables before the old pointers. */
		smp_wmb();
		WRITE_ONCE(self->extable, t->own_ex);
		WRITE_ONCE(self->bug_table, t->own_bugs);
		WRITE_ONCE(self->arch.orc_unwind_ip, t->own_orc_ip);
		WRITE_ONCE(self->arch.orc_unwind, t->own_orc);
		/* The old pointers before their counts. */
		smp_wmb();
		WRITE_ONCE(self->num_exentries, t->own_nex);
		WRITE_ONCE(self->num_bugs, t->own_nbugs);
		WRITE_ONCE(self->arch.num_orcs, t->own_norcs);
		/* Nobody looks at the merged tables or names any more. */
		synchronize_rcu();
	}
	kedr_tables_free(t);
}
