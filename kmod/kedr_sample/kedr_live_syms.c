// SPDX-License-Identifier: GPL-2.0
/*
 * Symbol values of a module that is running already.
 *
 * The blob names symbols by their index in the target's .symtab. At
 * MODULE_STATE_COMING mod->kallsyms is that symtab with final values; once
 * the module is live the kernel keeps only its core symbols, renumbered,
 * without the undefined ones (imports) or the section symbols. So a live
 * attach reads the target's .ko (firmware kedr/<target>.ko, installed next
 * to the blob) and evaluates each symbol the blob uses:
 *
 * - defined: the base of its section, as /sys/module/<target>/sections/
 *   shows it (the kernel's own record of where it placed each section),
 *   plus st_value; symbols of init sections are gone (value 0). A section
 *   name that is not one path component there ('/', ".", "..") is
 *   refused, and so are a symbol past the end of its section and a
 *   function not inside the module's core text;
 * - undefined (an import): read back from a field the kernel relocated
 *   with it in the target's core sections (a RELA entry of the .ko), and
 *   kept only if kallsyms says that address is exactly this symbol
 *   (sprint_symbol()): a field the kernel rewrote since (alternatives,
 *   return thunks) gives another address and is passed over; where every
 *   field was rewritten (a static call trampoline called inline), the
 *   address kprobes resolve the name to (kedr_import()). An import only
 *   init code used may be gone with it (value 0).
 *
 * Everything read from the .ko is bounds-checked; the functions' names,
 * sizes and digests are checked against the blob by the caller as at
 * COMING.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/elf.h>
#include <linux/firmware.h>
#include <linux/fs.h>
#include <linux/kallsyms.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_attach.h"

struct kedr_elf {
	const u8 *data;
	size_t size;
	const Elf64_Ehdr *eh;
	const Elf64_Shdr *sh;
	const Elf64_Sym *sym;
	unsigned int nsym;
	const char *str;
	size_t str_size;
	const char *shstr;
	size_t shstr_size;
	unsigned long *sec_base;	/* 0: not placed (or init) */
	u8 *sec_tried;
};

static bool kedr_elf_range(const struct kedr_elf *e, u64 off, u64 len)
{
	return off <= e->size && len <= e->size - off;
}

static const char *kedr_elf_secname(const struct kedr_elf *e, unsigned int i)
{
	u32 n = e->sh[i].sh_name;

	if (n >= e->shstr_size || !memchr(e->shstr + n, 0, e->shstr_size - n))
		return NULL;
	return e->shstr + n;
}

static const char *kedr_elf_symname(const struct kedr_elf *e, unsigned int i)
{
	u32 n = e->sym[i].st_name;

	if (!n || n >= e->str_size || !memchr(e->str + n, 0, e->str_size - n))
		return NULL;
	return e->str + n;
}

static int kedr_elf_parse(struct kedr_elf *e)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)e->data;
	unsigned int i, symtab = 0;

	if (e->size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_type != ET_REL ||
	    eh->e_shentsize != sizeof(Elf64_Shdr) ||
	    !kedr_elf_range(e, eh->e_shoff,
			    (u64)eh->e_shnum * sizeof(Elf64_Shdr)) ||
	    eh->e_shoff % sizeof(u64) || eh->e_shstrndx >= eh->e_shnum)
		return -ENOEXEC;
	e->eh = eh;
	e->sh = (const Elf64_Shdr *)(e->data + eh->e_shoff);
	for (i = 0; i < eh->e_shnum; i++)
		if (e->sh[i].sh_type != SHT_NOBITS &&
		    !kedr_elf_range(e, e->sh[i].sh_offset, e->sh[i].sh_size))
			return -ENOEXEC;
	/* Names only from string tables: bytes in the file, checked above. */
	if (e->sh[eh->e_shstrndx].sh_type != SHT_STRTAB)
		return -ENOEXEC;
	e->shstr = e->data + e->sh[eh->e_shstrndx].sh_offset;
	e->shstr_size = e->sh[eh->e_shstrndx].sh_size;
	for (i = 1; i < eh->e_shnum; i++)
		if (e->sh[i].sh_type == SHT_SYMTAB)
			symtab = i;
	if (!symtab || e->sh[symtab].sh_link >= eh->e_shnum ||
	    e->sh[e->sh[symtab].sh_link].sh_type != SHT_STRTAB ||
	    e->sh[symtab].sh_offset % sizeof(u64) ||
	    e->sh[symtab].sh_entsize != sizeof(Elf64_Sym))
		return -ENOEXEC;
	e->sym = (const Elf64_Sym *)(e->data + e->sh[symtab].sh_offset);
	e->nsym = e->sh[symtab].sh_size / sizeof(Elf64_Sym);
	e->str = e->data + e->sh[e->sh[symtab].sh_link].sh_offset;
	e->str_size = e->sh[e->sh[symtab].sh_link].sh_size;
	return 0;
}

/*
 * Can section name @name be one component of a path under sysfs? Not if it
 * names another directory ("/", "." or ".."); ".data..percpu" is fine.
 */
static bool kedr_secname_ok(const char *name)
{
	return !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..");
}

/* An allocated section whose name kedr_sec_base() would not use, or 0. */
static unsigned int kedr_elf_bad_secname(const struct kedr_elf *e)
{
	unsigned int i;

	for (i = 1; i < e->eh->e_shnum; i++) {
		const char *name = kedr_elf_secname(e, i);

		if ((e->sh[i].sh_flags & SHF_ALLOC) && name &&
		    !kedr_secname_ok(name))
			return i;
	}
	return 0;
}

/* Where the kernel placed section @i of @mod: its sysfs record. */
static unsigned long kedr_sec_base(struct kedr_elf *e, struct module *mod,
				   unsigned int i)
{
	const char *name = kedr_elf_secname(e, i);
	char buf[32] = {}, *path;
	struct file *f;
	loff_t pos = 0;
	unsigned long v = 0;
	ssize_t n;

	if (e->sec_tried[i])
		return e->sec_base[i];
	e->sec_tried[i] = 1;
	if (!name || !(e->sh[i].sh_flags & SHF_ALLOC) ||
	    str_has_prefix(name, ".init") || !kedr_secname_ok(name))
		return 0;
	path = kasprintf(GFP_KERNEL, "/sys/module/%s/sections/%s", mod->name,
			 name);
	if (!path)
		return 0;
	f = filp_open(path, O_RDONLY, 0);
	kfree(path);
	if (IS_ERR(f))
		return 0;
	n = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	filp_close(f, NULL);
	if (n > 0 && !kstrtoul(strim(buf), 0, &v))
		e->sec_base[i] = v;
	return e->sec_base[i];
}

/*
 * Is @addr exactly symbol @name (sprint_symbol() says "name+0x0/...")? With
 * @name NULL: is it the start of some symbol (an alias of @name: kallsyms
 * names one of memset and __memset, say)?
 */
static bool kedr_is_symbol(unsigned long addr, const char *name)
{
	char buf[KSYM_SYMBOL_LEN];
	size_t len = name ? strlen(name) : 0;
	const char *plus;

	sprint_symbol(buf, addr);
	if (!name) {
		plus = strchr(buf, '+');
		return plus && str_has_prefix(plus, "+0x0/");
	}
	return !strncmp(buf, name, len) && str_has_prefix(buf + len, "+0x0/");
}

/*
 * An import's value, read back from a field relocated with it: one kallsyms
 * calls @name, else 0 with *cand the value the first field gave and *agree
 * how many fields gave it (a per-CPU variable has no kallsyms name there).
 */
static unsigned long kedr_import_value(struct kedr_elf *e, struct module *mod,
				       unsigned int idx, const char *name,
				       unsigned long *cand, unsigned int *agree)
{
	unsigned int i;
	u64 j;

	*cand = 0;
	*agree = 0;

	for (i = 1; i < e->eh->e_shnum; i++) {
		const Elf64_Shdr *rs = &e->sh[i];
		const Elf64_Rela *r;
		unsigned long base;
		u64 n;

		if (rs->sh_type != SHT_RELA || rs->sh_info >= e->eh->e_shnum ||
		    rs->sh_entsize != sizeof(*r) || rs->sh_offset % sizeof(u64))
			continue;
		r = (const Elf64_Rela *)(e->data + rs->sh_offset);
		n = rs->sh_size / sizeof(*r);
		base = 0;
		for (j = 0; j < n; j++) {
			const Elf64_Shdr *ts = &e->sh[rs->sh_info];
			u32 type = ELF64_R_TYPE(r[j].r_info);
			unsigned long p, s;

			if (ELF64_R_SYM(r[j].r_info) != idx)
				continue;
			if (!base)
				base = kedr_sec_base(e, mod, rs->sh_info);
			if (!base)
				break;	/* not placed, or init: gone */
			if (ts->sh_size < 8 || r[j].r_offset > ts->sh_size - 8)
				continue;
			p = base + r[j].r_offset;
			/*
			 * The .ko's sizes are its own: read only inside the
			 * running module's core, all 8 bytes.
			 */
			if (!within_module_core(p, mod) ||
			    !within_module_core(p + 7, mod))
				continue;
			if (type == R_X86_64_PC32 || type == R_X86_64_PLT32)
				s = p + (s32)get_unaligned_le32((void *)p) -
				    r[j].r_addend;
			else if (type == R_X86_64_64)
				s = get_unaligned_le64((void *)p) -
				    r[j].r_addend;
			else if (type == R_X86_64_32S)
				s = (long)(s32)get_unaligned_le32((void *)p) -
				    r[j].r_addend;
			else
				continue;
			if (kedr_is_symbol(s, name))
				return s;
			if (!*cand)
				*cand = s;
			*agree += s == *cand;
		}
	}
	return 0;
}

/*
 * An import no relocated field gave (every site rewritten: a static call
 * trampoline called inline, say): kprobes resolve a symbol_name for their
 * user (kallsyms_lookup_name(), which modules cannot call). The kprobe is
 * registered disabled, so nothing is written, and dropped at once.
 */
static unsigned long kedr_lookup_name(const char *name)
{
	struct kprobe kp = {
		.symbol_name = name,
		.flags = KPROBE_FLAG_DISABLED,
	};
	unsigned long addr;
	int err;

	err = register_kprobe(&kp);
	/* Set once the name is resolved, even if the place is refused. */
	addr = (unsigned long)kp.addr;
	if (!err)
		unregister_kprobe(&kp);
	return addr;
}

/*
 * The value of import @name: a relocated field kallsyms confirms; else what
 * kprobes resolve the name to, if kallsyms has a symbol starting there (an
 * alias it prefers: __memset for memset) or a field gave the same; else a
 * value two fields agree on.
 */
static unsigned long kedr_import(struct kedr_elf *e, struct module *mod,
				 unsigned int idx, const char *name)
{
	unsigned long v, cand, named;
	unsigned int agree;

	v = kedr_import_value(e, mod, idx, name, &cand, &agree);
	if (v)
		return v;
	named = kedr_lookup_name(name);
	if (named && (named == cand || kedr_is_symbol(named, NULL)))
		return named;
	return agree >= 2 ? cand : 0;
}

/* Mark @idx as needed, if it is a symbol index at all. */
static void kedr_need(u8 *need, u32 n, u32 idx)
{
	if (idx < n)
		need[idx] = 1;
}

/*
 * c->symval[i] for each symbol the blob uses, c->func_addr[i] for each core
 * function (0 for init functions, which are gone). Refuses (one line) if the
 * .ko is not the blob's or a symbol cannot be evaluated.
 */
int kedr_live_symbols(struct kedr_attach_ctx *c, const char *ko_name)
{
	const struct kedr_blob *b = c->b;
	const struct firmware *fw = NULL;
	struct kedr_elf e = {};
	u8 *need = NULL;
	const struct module_layout *l = &c->mod->core_layout;
	unsigned long text = (unsigned long)l->base;
	u32 i, n = b->target_num_symtab;
	unsigned int bad;
	int err;

	err = request_firmware(&fw, ko_name, NULL);
	if (err) {
		kedr_refuse(c, "attaching to a running module needs its .ko as firmware %s (%d)",
			    ko_name, err);
		return err;
	}
	e.data = fw->data;
	e.size = fw->size;
	err = kedr_elf_parse(&e);
	if (err) {
		kedr_refuse(c, "%s is not an x86-64 relocatable ELF file", ko_name);
		goto out;
	}
	if (e.nsym != n) {
		kedr_refuse(c, "%s has %u symbols, the blob was built for %u",
			    ko_name, e.nsym, n);
		err = -EINVAL;
		goto out;
	}
	bad = kedr_elf_bad_secname(&e);
	if (bad) {
		const char *name = kedr_elf_secname(&e, bad);

		/* Escaped and cut short: one line whatever the file holds. */
		kedr_refuse(c, "%s: section %u is named \"%*pE\", not a name under /sys/module/%s/sections/",
			    ko_name, bad, (int)min_t(size_t, strlen(name), 64),
			    name, c->mod->name);
		err = -EINVAL;
		goto out;
	}
	err = -ENOMEM;
	e.sec_base = kvcalloc(e.eh->e_shnum, sizeof(*e.sec_base), GFP_KERNEL);
	e.sec_tried = kvzalloc(e.eh->e_shnum, GFP_KERNEL);
	need = kvzalloc(n, GFP_KERNEL);
	if (!e.sec_base || !e.sec_tried || !need) {
		kedr_refuse(c, "out of memory");
		goto out;
	}

	for (i = 0; i < b->nr_fixups; i++)
		if (b->fixups[i].target == KEDR_TARGET_SYMBOL)
			kedr_need(need, n, b->fixups[i].index);
	for (i = 0; i < b->nr_extable; i++)
		if (b->extable[i].fixup_copy == KEDR_NO_COPY)
			kedr_need(need, n, b->extable[i].fixup_symidx);
	for (i = 0; i < b->nr_bugs; i++)
		kedr_need(need, n, b->bugs[i].file_symidx);
	for (i = 0; i < b->nr_imports; i++)
		kedr_need(need, n, b->imports[i].symidx);

	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_func *f = &b->funcs[i];
		const Elf64_Sym *s = &e.sym[f->symidx];
		const char *name = kedr_elf_symname(&e, f->symidx);
		unsigned long base, addr;

		if (!name || strcmp(name, f->name) ||
		    ELF64_ST_TYPE(s->st_info) != STT_FUNC ||
		    s->st_size != f->size || s->st_shndx == SHN_UNDEF ||
		    s->st_shndx >= e.eh->e_shnum) {
			kedr_refuse(c, "%s: symbol %u of %s is not the function of %u bytes the blob expects",
				    f->name, f->symidx, ko_name, f->size);
			err = -EINVAL;
			goto out;
		}
		if (f->flags & KEDR_FUNC_INIT)
			continue;	/* gone with the init text */
		base = kedr_sec_base(&e, c->mod, s->st_shndx);
		if (!base) {
			kedr_refuse(c, "%s: cannot tell where its section is (/sys/module/%s/sections/)",
				    f->name, c->mod->name);
			err = -ENOENT;
			goto out;
		}
		addr = base + s->st_value;
		if (addr < text || addr - text > l->text_size ||
		    f->size > l->text_size - (addr - text)) {
			kedr_refuse(c, "%s: %s at 0x%lx (+%u) is outside the module's core text",
				    ko_name, f->name, addr, f->size);
			err = -EINVAL;
			goto out;
		}
		c->func_addr[i] = addr;
	}

	for (i = 1; i < n; i++) {
		const Elf64_Sym *s = &e.sym[i];
		const char *name = kedr_elf_symname(&e, i);

		if (!need[i])
			continue;
		if (s->st_shndx == SHN_ABS) {
			c->symval[i] = s->st_value;
		} else if (s->st_shndx != SHN_UNDEF &&
			   s->st_shndx < e.eh->e_shnum) {
			u64 size = e.sh[s->st_shndx].sh_size;
			unsigned long base;

			/* At most its end (a __stop_ symbol, say). */
			if (s->st_value > size) {
				kedr_refuse(c, "%s: symbol %u lies 0x%llx bytes into section %u of 0x%llx bytes",
					    ko_name, i, s->st_value,
					    s->st_shndx, size);
				err = -EINVAL;
				goto out;
			}
			base = kedr_sec_base(&e, c->mod, s->st_shndx);
			/* 0: an init section, used only by init copies. */
			c->symval[i] = base ? base + s->st_value : 0;
		} else if (s->st_shndx == SHN_UNDEF && name) {
			/* 0: only init code used it, or refused later. */
			c->symval[i] = kedr_import(&e, c->mod, i, name);
		} else {
			kedr_refuse(c, "symbol %u of %s has section index %u",
				    i, ko_name, s->st_shndx);
			err = -EINVAL;
			goto out;
		}
	}
	err = 0;
out:
	kvfree(need);
	kvfree(e.sec_tried);
	kvfree(e.sec_base);
	release_firmware(fw);
	return err;
}
