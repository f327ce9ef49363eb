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
 * Readers take no lock (preempt or RCU-sched at most: search_module_
 * extables(), module_find_bug(), orc_module_find() in 6.1) and load a
 * table's pointer and its count separately, in any order: a reader may pair
 * any pointer value with any count value it could see. So the pointers
 * change once, at our init, to copies of our own tables in the reserves,
 * identical entry for entry (any pairing is the same table); after that only
 * the counts change. The copies' entries go after ours (our code is below
 * kedr_area: its .kprobes.text is our last text section, so sorted order
 * holds), written beyond the count and published by raising it (smp_wmb(): x86
 * loads are not reordered with other loads, readers need no barrier);
 * lowering it is followed by synchronize_rcu() before the entries past it
 * are written again.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/bug.h>
#include <linux/delay.h>
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

/*
 * The reserves, laid out at init: kedr_ro_tables holds the exception table
 * (ex_cap entries), the ORC ips and the ORC entries (orc_cap each),
 * kedr_rw_tables the bug table (bugs_cap entries). Ours first, then room
 * for the blob's.
 */
static struct {
	struct exception_table_entry *ex;
	unsigned int ex_cap;
	int *orc_ip;
	struct orc_entry *orc;
	unsigned int orc_cap;
	struct bug_entry *bugs;
	unsigned int bugs_cap;
	size_t ro_size;
	bool orc_trimmed;	/* our entries past kedr_area dropped */
} kedr_res;

struct kedr_tables {
	/* kedr_sample's own: the first entries of the reserves. */
	struct exception_table_entry *own_ex;
	unsigned int own_nex;
	unsigned int own_nbugs;
	unsigned int own_norcs;
	struct mod_kallsyms *own_ks;

	/* The copies' entries, which go right after ours. */
	unsigned int nex;
	unsigned int norcs;
	unsigned int nbugs;
	struct mod_kallsyms *ks;	/* with the copies' names */
	struct mod_kallsyms *ks_core;	/* the same without init copies */

	/* Their prepared contents, copied there on install. */
	void *ex_image;
	void *ip_image;
	void *orc_image;
	void *bug_image;
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

/* A kallsyms made by kedr_build_kallsyms(), or NULL. */
static void kedr_free_kallsyms(struct mod_kallsyms *ks)
{
	if (!ks)
		return;
	kvfree(ks->symtab);
	kvfree(ks->strtab);
	kvfree(ks->typetab);
	kfree(ks);
	kedr_obj_gone();
}

static void kedr_tables_free(struct kedr_tables *t)
{
	kedr_alias_unmap(&t->ro_alias);
	kvfree(t->ex_image);
	kvfree(t->ip_image);
	kvfree(t->orc_image);
	kvfree(t->bug_image);
	kedr_free_kallsyms(t->ks);
	kedr_free_kallsyms(t->ks_core);
	kfree(t);
	kedr_obj_gone();
}

/* Writes @img as the exception table entry at @final: insn -> fixup. */
static int kedr_put_ex(struct exception_table_entry *img, unsigned long final,
		       unsigned long insn, unsigned long fixup, int data)
{
	if (!kedr_fits_rel(insn, final) || !kedr_fits_rel(fixup, final + 4)) {
		pr_err("exception table entry for 0x%lx -> 0x%lx is out of reach of the table at 0x%lx\n",
		       insn, fixup, final);
		return -ERANGE;
	}
	img->insn = (int)(insn - final);
	img->fixup = (int)(fixup - (final + 4));
	img->data = data;
	return 0;
}

/* The copies' exception entries, sorted, to go after our own. */
static int kedr_build_extable(struct kedr_tables *t, const struct kedr_blob *b,
			      const unsigned long *symval,
			      unsigned long place)
{
	struct exception_table_entry *at = t->own_ex + t->own_nex;
	struct kedr_abs_extable *abs;
	unsigned int n = b->nr_extable, i;
	int err = 0;

	t->nex = n;
	t->ex_image = kvmalloc_array(max(n, 1U), sizeof(*at), GFP_KERNEL);
	abs = kvmalloc_array(max(n, 1U), sizeof(*abs), GFP_KERNEL);
	if (!abs || !t->ex_image) {
		kvfree(abs);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		const struct kedr_extable *x = &b->extable[i];

		abs[i].insn = place + x->insn_copy;
		if (x->fixup_copy != KEDR_NO_COPY)
			abs[i].fixup = place + x->fixup_copy;
		else
			abs[i].fixup = symval[x->fixup_symidx] +
				       x->fixup_addend;
		abs[i].data = (int)x->data;
	}
	sort(abs, n, sizeof(*abs), kedr_cmp_ex, NULL);
	for (i = 0; i < n && !err; i++)
		err = kedr_put_ex((struct exception_table_entry *)t->ex_image + i,
				  (unsigned long)(at + i), abs[i].insn,
				  abs[i].fixup, abs[i].data);
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

/* The copies' ORC entries, sorted, to go after our own. */
static int kedr_build_orc(struct kedr_tables *t, const struct kedr_blob *b,
			  unsigned long place)
{
	int *ip_at = kedr_res.orc_ip + t->own_norcs;
	struct kedr_abs_orc *abs;
	unsigned int n = 0, i;
	bool end_entry = b->nr_orcs &&
			 b->orcs[b->nr_orcs - 1].copy_offset == b->code_size;
	int err = 0;

	/* Zeroed: an entry is not a helper call's (->call) unless said. */
	abs = kvcalloc(b->nr_orcs + b->nr_call_orcs + 1, sizeof(*abs),
		       GFP_KERNEL);
	if (!abs)
		return -ENOMEM;
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

	t->ip_image = kvmalloc_array(max(n, 1U), sizeof(int), GFP_KERNEL);
	t->orc_image = kvmalloc_array(max(n, 1U), sizeof(struct orc_entry),
				      GFP_KERNEL);
	if (!t->ip_image || !t->orc_image) {
		kvfree(abs);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		unsigned long final = (unsigned long)(ip_at + i);

		if (!kedr_fits_rel(abs[i].ip, final)) {
			pr_err("ORC entry for 0x%lx is out of reach of the table at 0x%lx\n",
			       abs[i].ip, final);
			err = -ERANGE;
			break;
		}
		((int *)t->ip_image)[i] = (int)(abs[i].ip - final);
		((struct orc_entry *)t->orc_image)[i] = abs[i].orc;
	}
	t->norcs = n;
	kvfree(abs);
	return err;
}

/* Writes @img as the bug entry at @final. */
static int kedr_put_bug(struct bug_entry *img, unsigned long final,
			unsigned long addr, unsigned long file,
			unsigned short line, unsigned short flags)
{
	if (!kedr_fits_rel(addr, final) || !kedr_fits_rel(file, final + 4)) {
		pr_err("bug table entry for 0x%lx is out of reach of the table at 0x%lx\n",
		       addr, final);
		return -ERANGE;
	}
	img->bug_addr_disp = (int)(addr - final);
	img->file_disp = (int)(file - (final + 4));
	img->line = line;
	img->flags = flags;
	return 0;
}

/* The copies' bug entries, to go after our own. */
static int kedr_build_bugs(struct kedr_tables *t, const struct kedr_blob *b,
			   const unsigned long *symval, unsigned long place)
{
	struct bug_entry *at = kedr_res.bugs + t->own_nbugs;
	unsigned int i;
	int err = 0;

	t->nbugs = b->nr_bugs;
	t->bug_image = kvmalloc_array(max(t->nbugs, 1U), sizeof(*at),
				      GFP_KERNEL);
	if (!t->bug_image)
		return -ENOMEM;
	for (i = 0; i < t->nbugs && !err; i++) {
		const struct kedr_bug *x = &b->bugs[i];

		err = kedr_put_bug((struct bug_entry *)t->bug_image + i,
				   (unsigned long)(at + i),
				   place + x->copy_offset,
				   symval[x->file_symidx] +
				   x->file_addend, x->line, x->flags);
	}
	return err;
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
	kedr_obj_new();
	return ks;
}

/* The address ORC entry @i of the ip array @ips is for. */
static unsigned long kedr_orc_ip(const int *ips, unsigned int i)
{
	return (unsigned long)&ips[i] + ips[i];
}

/* Tests: a pause at each step of a switch (kedr_tables_delay_ms). */
static void kedr_tables_test_delay(void)
{
	unsigned int ms = READ_ONCE(kedr_tables_delay_ms);

	if (ms)
		msleep(min(ms, 10000U));
}

/*
 * At our init, before anything is attached: our own tables copied into the
 * reserves, entry for entry in the same order, and the module's pointers
 * moved there. The counts stay: whichever pointer a reader pairs with
 * them, old or new, it reads the same table. Room is left after ours for
 * the blob's entries; refused if they do not fit.
 */
int kedr_tables_init(const struct kedr_blob *b)
{
	struct module *self = THIS_MODULE;
	unsigned long ro = (unsigned long)kedr_ro_tables;
	unsigned int nex = self->extable ? self->num_exentries : 0;
	unsigned int nbugs = self->bug_table ? self->num_bugs : 0;
	unsigned int norcs = self->arch.num_orcs;
	struct kedr_alias alias = {};
	size_t ex_size, ip_size, rw_size;
	unsigned int i;
	int err;

	if (!self->arch.orc_unwind_ip || !self->arch.orc_unwind)
		norcs = 0;
	memset(&kedr_res, 0, sizeof(kedr_res));
	kedr_res.ex_cap = nex + b->nr_extable;
	kedr_res.orc_cap = norcs + b->nr_orcs + b->nr_call_orcs + 1;
	kedr_res.bugs_cap = nbugs + b->nr_bugs;
	ex_size = (size_t)kedr_res.ex_cap *
		  sizeof(struct exception_table_entry);
	ip_size = (size_t)kedr_res.orc_cap * sizeof(int);
	kedr_res.ro_size = ex_size + ip_size +
			   (size_t)kedr_res.orc_cap * sizeof(struct orc_entry);
	rw_size = (size_t)kedr_res.bugs_cap * sizeof(struct bug_entry);
	if (kedr_res.ro_size > KEDR_RO_TABLES_SIZE ||
	    rw_size > KEDR_RW_TABLES_SIZE) {
		pr_err("the blob's exception, bug and ORC tables with ours (%zu + %zu bytes) do not fit in the reserves (%u + %u bytes)\n",
		       kedr_res.ro_size, rw_size, KEDR_RO_TABLES_SIZE,
		       KEDR_RW_TABLES_SIZE);
		return -E2BIG;
	}
	kedr_res.ex = (struct exception_table_entry *)ro;
	kedr_res.orc_ip = (int *)(ro + ex_size);
	kedr_res.orc = (struct orc_entry *)(ro + ex_size + ip_size);
	kedr_res.bugs = (struct bug_entry *)kedr_rw_tables;

	err = kedr_alias_map(&alias, ro, kedr_res.ro_size);
	if (err) {
		pr_err("cannot map the table reserve (%d)\n", err);
		return err;
	}
	for (i = 0; i < nex && !err; i++) {
		const struct exception_table_entry *e = &self->extable[i];
		unsigned long final = (unsigned long)&kedr_res.ex[i];

		err = kedr_put_ex((struct exception_table_entry *)
				  kedr_alias(&alias, final), final,
				  (unsigned long)&e->insn + e->insn,
				  (unsigned long)&e->fixup + e->fixup, e->data);
	}
	for (i = 0; i < norcs && !err; i++) {
		unsigned long ip = kedr_orc_ip(self->arch.orc_unwind_ip, i);
		unsigned long final = (unsigned long)&kedr_res.orc_ip[i];

		if (!kedr_fits_rel(ip, final)) {
			err = -ERANGE;
			break;
		}
		*(int *)kedr_alias(&alias, final) = (int)(ip - final);
		memcpy(kedr_alias(&alias, (unsigned long)&kedr_res.orc[i]),
		       &self->arch.orc_unwind[i], sizeof(struct orc_entry));
	}
	for (i = 0; i < nbugs && !err; i++) {
		const struct bug_entry *o = &self->bug_table[i];

		err = kedr_put_bug(&kedr_res.bugs[i],
				   (unsigned long)&kedr_res.bugs[i],
				   (unsigned long)&o->bug_addr_disp +
				   o->bug_addr_disp,
				   (unsigned long)&o->file_disp + o->file_disp,
				   o->line, o->flags);
	}
	kedr_alias_unmap(&alias);
	if (err) {
		pr_err("cannot copy our own tables into the reserves (%d)\n",
		       err);
		return err;
	}
	/* The copies before the pointers to them. */
	smp_wmb();
	WRITE_ONCE(self->extable, kedr_res.ex);
	WRITE_ONCE(self->bug_table, kedr_res.bugs);
	WRITE_ONCE(self->arch.orc_unwind_ip, kedr_res.orc_ip);
	WRITE_ONCE(self->arch.orc_unwind, kedr_res.orc);
	return 0;
}

/*
 * Our ORC entries past kedr_area (those of our init text, if the kernel put
 * it above our core) leave the count once, at the first attach: the copies'
 * go there. Our init is over by then (kedr_on_coming() checks).
 *
 * The kernel's trim_init_extable() lowered our exception count likewise at
 * the end of our init, without a grace period: a reader that loaded the
 * count before it may still be searching our init entries, which are where
 * the copies' entries go. One grace period before the first attach writes
 * there, whichever count was lowered.
 */
static void kedr_trim_own_orc(void)
{
	struct module *self = THIS_MODULE;
	unsigned int n = READ_ONCE(self->arch.num_orcs), k = n;

	while (k && kedr_orc_ip(kedr_res.orc_ip, k - 1) >
		    (unsigned long)kedr_area)
		k--;
	if (k != n)
		WRITE_ONCE(self->arch.num_orcs, k);
	synchronize_rcu();
	kedr_res.orc_trimmed = true;
}

int kedr_tables_prepare(struct module *mod, const struct kedr_blob *b,
			const unsigned long *func_addr,
			const unsigned long *symval, unsigned long place,
			struct kedr_tables **out)
{
	struct module *self = THIS_MODULE;
	struct kedr_tables *t;
	int err = -ENOMEM;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	kedr_obj_new();

	if (!kedr_res.orc_trimmed)
		kedr_trim_own_orc();
	/* trim_init_extable() may have moved our extable up the reserve. */
	t->own_ex = READ_ONCE(self->extable);
	t->own_nex = READ_ONCE(self->num_exentries);
	t->own_nbugs = READ_ONCE(self->num_bugs);
	t->own_norcs = READ_ONCE(self->arch.num_orcs);
	/* kedr_sample is LIVE: this is its core_kallsyms, which stays. */
	t->own_ks = rcu_dereference_protected(self->kallsyms, 1);
	if (t->own_ex < kedr_res.ex ||
	    t->own_ex + t->own_nex + b->nr_extable >
	    kedr_res.ex + kedr_res.ex_cap ||
	    t->own_nbugs + b->nr_bugs > kedr_res.bugs_cap ||
	    t->own_norcs + b->nr_orcs + b->nr_call_orcs + 1 >
	    kedr_res.orc_cap) {
		pr_err("%s: not instrumented: kedr_sample's tables are not where its init put them\n",
		       mod->name);
		err = -EINVAL;
		goto fail;
	}
	if (t->own_nex &&
	    (unsigned long)&t->own_ex[t->own_nex - 1].insn +
	    t->own_ex[t->own_nex - 1].insn >= place) {
		pr_err("%s: not instrumented: kedr_sample has exception entries past its code area\n",
		       mod->name);
		err = -EINVAL;
		goto fail;
	}

	err = kedr_build_extable(t, b, symval, place);
	if (!err)
		err = kedr_build_orc(t, b, place);
	if (!err)
		err = kedr_build_bugs(t, b, symval, place);
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
			     kedr_res.ro_size);
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

/*
 * Before the copies can run; cannot fail. The copies' entries are written
 * past the counts, where no reader looks (the last lowering of the counts
 * was followed by synchronize_rcu()), then the counts are raised.
 */
void kedr_tables_install(struct kedr_tables *t)
{
	struct module *self = THIS_MODULE;
	struct exception_table_entry *ex = t->own_ex + t->own_nex;
	int *ip = kedr_res.orc_ip + t->own_norcs;
	struct orc_entry *orc = kedr_res.orc + t->own_norcs;

	memcpy(kedr_alias(&t->ro_alias, (unsigned long)ex), t->ex_image,
	       t->nex * sizeof(*ex));
	memcpy(kedr_alias(&t->ro_alias, (unsigned long)ip), t->ip_image,
	       t->norcs * sizeof(*ip));
	memcpy(kedr_alias(&t->ro_alias, (unsigned long)orc), t->orc_image,
	       t->norcs * sizeof(*orc));
	memcpy(kedr_res.bugs + t->own_nbugs, t->bug_image,
	       t->nbugs * sizeof(struct bug_entry));
	kedr_alias_unmap(&t->ro_alias);
	kedr_tables_test_delay();

	/* The entries before the counts that cover them. */
	smp_wmb();
	WRITE_ONCE(self->num_exentries, t->own_nex + t->nex);
	WRITE_ONCE(self->num_bugs, t->own_nbugs + t->nbugs);
	WRITE_ONCE(self->arch.num_orcs, t->own_norcs + t->norcs);
	rcu_assign_pointer(self->kallsyms, t->ks);
	t->installed = true;
	kedr_tables_test_delay();
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
	kedr_free_kallsyms(full);
}

/*
 * The copies cannot run any more: the counts back to ours, our entries
 * untouched before them.
 */
void kedr_tables_remove(struct kedr_tables *t)
{
	struct module *self = THIS_MODULE;

	if (t->installed) {
		rcu_assign_pointer(self->kallsyms, t->own_ks);
		WRITE_ONCE(self->num_exentries, t->own_nex);
		WRITE_ONCE(self->num_bugs, t->own_nbugs);
		WRITE_ONCE(self->arch.num_orcs, t->own_norcs);
		kedr_tables_test_delay();
		/*
		 * Nobody looks at the copies' entries or names any more: the
		 * next attach may write them again.
		 */
		synchronize_rcu();
	}
	kedr_tables_free(t);
}
