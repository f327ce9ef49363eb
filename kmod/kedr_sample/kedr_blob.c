// SPDX-License-Identifier: GPL-2.0
/*
 * Loading a blob (kedr_blob.h) with request_firmware() and validating
 * everything in it before anything else uses it. The result is a native,
 * aligned copy of the tables that outlives the firmware buffer; nothing in
 * it needs checking again.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/bitmap.h>
#include <linux/build_bug.h>
#include <linux/crc32.h>
#include <linux/firmware.h>
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/security.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_sample.h"

/* The layouts the rewriter writes (kedr_blob.h); a change here is a bug. */
static_assert(sizeof(struct kedr_blob_table) == 16);
static_assert(sizeof(struct kedr_blob_header) == 292);

/* The smallest header a reader of this major version accepts: a 1.0 one. */
#define KEDR_HEADER_MIN_SIZE \
	(offsetof(struct kedr_blob_header, tables) + \
	 KEDR_TABLE_COUNT_V1 * sizeof(struct kedr_blob_table))
static_assert(sizeof(struct kedr_blob_func) == 48);
static_assert(sizeof(struct kedr_blob_mask) == 8);
static_assert(sizeof(struct kedr_blob_fixup) == 24);
static_assert(sizeof(struct kedr_blob_site) == 12);
static_assert(sizeof(struct kedr_blob_patch) == 24);
static_assert(sizeof(struct kedr_blob_extable) == 24);
static_assert(sizeof(struct kedr_blob_bug) == 24);
static_assert(sizeof(struct kedr_blob_orc) == 12);
static_assert(sizeof(struct kedr_blob_import) == 16);
static_assert(sizeof(struct kedr_blob_call) == 16);
static_assert(sizeof(struct kedr_blob_probe) == 20);

/* A jmp rel32 is written at every function's entry. */
#define KEDR_MIN_FUNC_SIZE	5

/* The longest x86 instruction (MAX_INSN_SIZE of asm/insn.h). */
#define KEDR_MAX_INSN_SIZE	15

static const char * const kedr_table_names[KEDR_TABLE_COUNT_V1_5] = {
	[KEDR_TABLE_STRINGS] = "strings",
	[KEDR_TABLE_FUNCTIONS] = "functions",
	[KEDR_TABLE_MASKS] = "masks",
	[KEDR_TABLE_FIXUPS] = "fixups",
	[KEDR_TABLE_SITES] = "sites",
	[KEDR_TABLE_PATCHES] = "patches",
	[KEDR_TABLE_CODE] = "code",
	[KEDR_TABLE_EXTABLE] = "extable",
	[KEDR_TABLE_BUGS] = "bugs",
	[KEDR_TABLE_ORC] = "orc",
	[KEDR_TABLE_CHECKSUM] = "checksum",
	[KEDR_TABLE_IMPORTS] = "imports",
	[KEDR_TABLE_CALLS] = "calls",
	[KEDR_TABLE_PROBES] = "probes",
};

/* Smallest entry of each table; strings and code are byte arrays. */
static const u32 kedr_table_entsize[KEDR_TABLE_COUNT_V1_5] = {
	[KEDR_TABLE_STRINGS] = 1,
	[KEDR_TABLE_FUNCTIONS] = sizeof(struct kedr_blob_func),
	[KEDR_TABLE_MASKS] = sizeof(struct kedr_blob_mask),
	[KEDR_TABLE_FIXUPS] = sizeof(struct kedr_blob_fixup),
	[KEDR_TABLE_SITES] = sizeof(struct kedr_blob_site),
	[KEDR_TABLE_PATCHES] = sizeof(struct kedr_blob_patch),
	[KEDR_TABLE_CODE] = 1,
	[KEDR_TABLE_EXTABLE] = sizeof(struct kedr_blob_extable),
	[KEDR_TABLE_BUGS] = sizeof(struct kedr_blob_bug),
	[KEDR_TABLE_ORC] = sizeof(struct kedr_blob_orc),
	[KEDR_TABLE_CHECKSUM] = sizeof(__le32),
	[KEDR_TABLE_IMPORTS] = sizeof(struct kedr_blob_import),
	[KEDR_TABLE_CALLS] = sizeof(struct kedr_blob_call),
	[KEDR_TABLE_PROBES] = sizeof(struct kedr_blob_probe),
};

struct kedr_blob_reader {
	const char *fw_name;
	const u8 *data;
	size_t size;
	u32 header_size;
	u32 num_symtab;
	/* Tables a 1.0 blob lacks are empty. */
	u32 off[KEDR_TABLE_COUNT_V1_5];
	u32 count[KEDR_TABLE_COUNT_V1_5];
	u32 entsize[KEDR_TABLE_COUNT_V1_5];
};

#define KEDR_LE16(p, type, field) \
	get_unaligned_le16((const u8 *)(p) + offsetof(type, field))
#define KEDR_LE32(p, type, field) \
	get_unaligned_le32((const u8 *)(p) + offsetof(type, field))
#define KEDR_LE64(p, type, field) \
	get_unaligned_le64((const u8 *)(p) + offsetof(type, field))
#define KEDR_U8(p, type, field) \
	(*((const u8 *)(p) + offsetof(type, field)))

static __printf(2, 3)
int kedr_bad(const struct kedr_blob_reader *r, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	pr_err("blob %s is malformed: %pV\n", r->fw_name, &vaf);
	va_end(args);
	return -EINVAL;
}

/* Entry @i of table @t: the table's range was checked in the header. */
static const u8 *kedr_entry(const struct kedr_blob_reader *r, int t, u32 i)
{
	return r->data + r->off[t] + (size_t)i * r->entsize[t];
}

static bool kedr_range_ok(u64 offset, u64 length, u64 limit)
{
	return offset <= limit && length <= limit - offset;
}

/* CRC-32C of @len bytes, continuing from @crc; in steps, for huge blobs. */
static u32 kedr_crc32c(u32 crc, const u8 *p, size_t len)
{
	while (len) {
		size_t n = min_t(size_t, len, SZ_1M);

		crc = __crc32c_le(crc, p, n);
		p += n;
		len -= n;
		cond_resched();
	}
	return crc;
}

/*
 * The checksum (kedr_blob.h, KEDR_TABLE_CHECKSUM): required from minor
 * version 1.3 on, checked in any blob that has it, before anything but the
 * header and the table descriptors is used.
 */
static int kedr_check_sum(const struct kedr_blob_reader *r, u32 num_tables)
{
	u16 minor = KEDR_LE16(r->data, struct kedr_blob_header, version_minor);
	u32 off = r->off[KEDR_TABLE_CHECKSUM], want, got;

	if (num_tables <= KEDR_TABLE_CHECKSUM) {
		if (minor < KEDR_BLOB_CHECKSUM_MINOR)
			return 0;
		return kedr_bad(r, "version 1.%u without a checksum table",
				minor);
	}
	if (r->count[KEDR_TABLE_CHECKSUM] != 1)
		return kedr_bad(r, "table checksum: count=%u, need 1",
				r->count[KEDR_TABLE_CHECKSUM]);
	want = get_unaligned_le32(r->data + off);
	got = kedr_crc32c(~0U, r->data, off);
	got = ~kedr_crc32c(got, r->data + off + 4, r->size - off - 4);
	if (got != want)
		return kedr_bad(r, "checksum 0x%08x at offset %u, the blob's bytes give 0x%08x: damaged",
				want, off, got);
	return 0;
}

static int kedr_check_header(struct kedr_blob_reader *r, u32 *code_align,
			     u32 *blob_flags)
{
	const u8 *h = r->data;
	u32 blob_size, flags, num_tables, bid_len, t;
	u16 major;

	if (r->size < KEDR_BLOB_MAGIC_LEN ||
	    memcmp(h, KEDR_BLOB_MAGIC, KEDR_BLOB_MAGIC_LEN))
		return kedr_bad(r, "bad magic (not a KEDR blob)");
	if (r->size < KEDR_HEADER_MIN_SIZE)
		return kedr_bad(r, "truncated: %zu bytes, the header alone is %zu",
				r->size, KEDR_HEADER_MIN_SIZE);

	major = KEDR_LE16(h, struct kedr_blob_header, version_major);
	if (major != KEDR_BLOB_VERSION_MAJOR)
		return kedr_bad(r, "version %u.%u, this loader reads %u.x",
				major,
				KEDR_LE16(h, struct kedr_blob_header,
					  version_minor),
				KEDR_BLOB_VERSION_MAJOR);

	r->header_size = KEDR_LE32(h, struct kedr_blob_header, header_size);
	blob_size = KEDR_LE32(h, struct kedr_blob_header, blob_size);
	flags = KEDR_LE32(h, struct kedr_blob_header, flags);
	num_tables = KEDR_LE32(h, struct kedr_blob_header, num_tables);
	bid_len = KEDR_LE32(h, struct kedr_blob_header, target_build_id_len);
	*code_align = KEDR_LE32(h, struct kedr_blob_header, code_align);
	r->num_symtab = KEDR_LE32(h, struct kedr_blob_header,
				  target_num_symtab);

	if (blob_size != r->size)
		return kedr_bad(r, "header.blob_size=%u but the file has %zu bytes%s",
				blob_size, r->size,
				blob_size > r->size ? " (truncated)" : "");
	if (r->header_size < KEDR_HEADER_MIN_SIZE ||
	    r->header_size > blob_size)
		return kedr_bad(r, "header.header_size=%u out of range [%zu, %u]",
				r->header_size, KEDR_HEADER_MIN_SIZE, blob_size);
	if (flags & ~KEDR_BLOB_KNOWN_FLAGS)
		return kedr_bad(r, "header.flags=0x%x: unknown flags 0x%x", flags,
				flags & ~KEDR_BLOB_KNOWN_FLAGS);
	*blob_flags = flags;
	if (num_tables < KEDR_TABLE_COUNT_V1 ||
	    (u64)offsetof(struct kedr_blob_header, tables) +
	    (u64)num_tables * sizeof(struct kedr_blob_table) != r->header_size)
		return kedr_bad(r, "header.num_tables=%u: need >= %u and header_size %u = %zu + 16 * num_tables",
				num_tables, KEDR_TABLE_COUNT_V1,
				r->header_size,
				offsetof(struct kedr_blob_header, tables));
	if (bid_len > KEDR_BUILD_ID_MAX)
		return kedr_bad(r, "header.target_build_id_len=%u > %u",
				bid_len, KEDR_BUILD_ID_MAX);
	if (!is_power_of_2(*code_align) || *code_align > KEDR_AREA_ALIGN)
		return kedr_bad(r, "header.code_align=%u: not a power of two <= %u",
				*code_align, KEDR_AREA_ALIGN);
	if (!r->num_symtab)
		return kedr_bad(r, "header.target_num_symtab=0");

	for (t = 0; t < min_t(u32, num_tables, KEDR_TABLE_COUNT_V1_5); t++) {
		const u8 *d = h + offsetof(struct kedr_blob_header, tables) +
			t * sizeof(struct kedr_blob_table);
		u32 off = KEDR_LE32(d, struct kedr_blob_table, offset);
		u32 count = KEDR_LE32(d, struct kedr_blob_table, count);
		u32 entsize = KEDR_LE32(d, struct kedr_blob_table, entsize);
		bool bytes = kedr_table_entsize[t] == 1;

		if (bytes ? entsize != 1 : entsize < kedr_table_entsize[t])
			return kedr_bad(r, "table %s: entsize=%u, need %s%u",
					kedr_table_names[t], entsize,
					bytes ? "" : ">= ",
					kedr_table_entsize[t]);
		if (count && (off < r->header_size ||
			      !kedr_range_ok(off, (u64)count * entsize,
					     blob_size)))
			return kedr_bad(r, "table %s: offset=%u count=%u entsize=%u outside [header_size %u, blob_size %u)",
					kedr_table_names[t], off, count,
					entsize, r->header_size, blob_size);
		r->off[t] = off;
		r->count[t] = count;
		r->entsize[t] = entsize;
	}
	return kedr_check_sum(r, num_tables);
}

/* A string reference: in the table, and NUL-terminated (checked once). */
static int kedr_string(const struct kedr_blob_reader *r, u32 off,
		       const char *what, u32 idx, u32 *out)
{
	if (off >= r->count[KEDR_TABLE_STRINGS]) {
		if (idx == U32_MAX)
			return kedr_bad(r, "%s: string offset %u beyond strings table (%u bytes)",
					what, off,
					r->count[KEDR_TABLE_STRINGS]);
		return kedr_bad(r, "%s[%u]: string offset %u beyond strings table (%u bytes)",
				what, idx, off, r->count[KEDR_TABLE_STRINGS]);
	}
	*out = off;
	return 0;
}

static int kedr_read_funcs(const struct kedr_blob_reader *r,
			   struct kedr_blob *b, u32 *name_offs)
{
	const u32 known = KEDR_FUNC_INIT | KEDR_FUNC_PART;
	u32 i;
	int err;

	for (i = 0; i < b->nr_funcs; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_FUNCTIONS, i);
		struct kedr_func *f = &b->funcs[i];

		err = kedr_string(r, KEDR_LE32(e, struct kedr_blob_func, name),
				  "functions", i, &name_offs[i]);
		if (err)
			return err;
		f->symidx = KEDR_LE32(e, struct kedr_blob_func, symidx);
		f->size = KEDR_LE32(e, struct kedr_blob_func, size);
		f->copy_offset = KEDR_LE32(e, struct kedr_blob_func,
					   copy_offset);
		f->copy_size = KEDR_LE32(e, struct kedr_blob_func, copy_size);
		f->mask_first = KEDR_LE32(e, struct kedr_blob_func, mask_first);
		f->mask_count = KEDR_LE32(e, struct kedr_blob_func, mask_count);
		f->flags = KEDR_LE32(e, struct kedr_blob_func, flags);
		f->digest = KEDR_LE64(e, struct kedr_blob_func, digest);
		f->owner = KEDR_LE32(e, struct kedr_blob_func, owner);

		if (!f->symidx || f->symidx >= r->num_symtab)
			return kedr_bad(r, "functions[%u]: symidx=%u not in [1, target_num_symtab %u)",
					i, f->symidx, r->num_symtab);
		if (f->size < KEDR_MIN_FUNC_SIZE)
			return kedr_bad(r, "functions[%u]: size=%u < %u",
					i, f->size, KEDR_MIN_FUNC_SIZE);
		if (!f->copy_size ||
		    !kedr_range_ok(f->copy_offset, f->copy_size, b->code_size))
			return kedr_bad(r, "functions[%u]: copy [%u, +%u) not inside the code image (%u bytes)",
					i, f->copy_offset, f->copy_size,
					b->code_size);
		if (!kedr_range_ok(f->mask_first, f->mask_count, b->nr_masks))
			return kedr_bad(r, "functions[%u]: masks [%u, +%u) beyond masks table (%u)",
					i, f->mask_first, f->mask_count,
					b->nr_masks);
		if (f->flags & ~known)
			return kedr_bad(r, "functions[%u]: unknown flags 0x%x",
					i, f->flags);
		if (f->owner >= b->nr_funcs)
			return kedr_bad(r, "functions[%u]: owner=%u >= %u functions",
					i, f->owner, b->nr_funcs);
		b->max_func_size = max(b->max_func_size, f->size);
	}

	/* Owners: itself, or for a .cold part, a function that is no part. */
	for (i = 0; i < b->nr_funcs; i++) {
		const struct kedr_func *f = &b->funcs[i];
		bool part = f->flags & KEDR_FUNC_PART;

		if (part ? (f->owner == i ||
			    (b->funcs[f->owner].flags & KEDR_FUNC_PART)) :
			   f->owner != i)
			return kedr_bad(r, "functions[%u]: owner=%u but flags=0x%x",
					i, f->owner, f->flags);
	}
	return 0;
}

/*
 * Each function's masks: non-empty, sorted, disjoint, inside it; and no mask
 * belongs to two functions, so that this walk and kedr_mark_masks() at
 * attach are linear in the table, whatever the ranges say.
 */
static int kedr_read_masks(const struct kedr_blob_reader *r,
			   struct kedr_blob *b)
{
	unsigned long *used;
	u32 i, j, end;
	int err = 0;

	used = bitmap_zalloc(b->nr_masks, GFP_KERNEL);
	if (!used && b->nr_masks) {
		pr_err("blob %s: out of memory for its tables\n", r->fw_name);
		return -ENOMEM;
	}
	for (i = 0; i < b->nr_masks; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_MASKS, i);

		b->masks[i].offset = KEDR_LE32(e, struct kedr_blob_mask, offset);
		b->masks[i].length = KEDR_LE32(e, struct kedr_blob_mask, length);
	}
	for (i = 0; i < b->nr_funcs && !err; i++) {
		const struct kedr_func *f = &b->funcs[i];

		for (j = f->mask_first, end = 0;
		     j < f->mask_first + f->mask_count; j++) {
			const struct kedr_mask *m = &b->masks[j];

			if (__test_and_set_bit(j, used)) {
				err = kedr_bad(r, "masks[%u] (of functions[%u]): belongs to another function too",
					       j, i);
				break;
			}
			if (!m->length || m->offset < end ||
			    !kedr_range_ok(m->offset, m->length, f->size)) {
				err = kedr_bad(r, "masks[%u] (of functions[%u]): [%u, +%u) unsorted, overlapping or not inside the function (%u bytes)",
					       j, i, m->offset, m->length,
					       f->size);
				break;
			}
			end = m->offset + m->length;
		}
	}
	bitmap_free(used);
	return err;
}

/* Is the fixup field at @offset the rel32 of `push $imm32; call rel32`? */
static bool kedr_is_helper_call(const struct kedr_blob *b, u32 offset)
{
	return offset >= KEDR_CALL_FIELD && offset <= b->code_size - 4 &&
	       b->code[offset - KEDR_CALL_FIELD] == 0x68 &&
	       b->code[offset - 1] == CALL_INSN_OPCODE;
}

static int kedr_read_fixups(const struct kedr_blob_reader *r,
			    struct kedr_blob *b)
{
	u32 i, width;

	for (i = 0; i < b->nr_fixups; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_FIXUPS, i);
		struct kedr_fixup *x = &b->fixups[i];

		x->offset = KEDR_LE32(e, struct kedr_blob_fixup, offset);
		x->type = KEDR_U8(e, struct kedr_blob_fixup, type);
		x->target = KEDR_U8(e, struct kedr_blob_fixup, target);
		x->index = KEDR_LE32(e, struct kedr_blob_fixup, index);
		x->addend = (s64)KEDR_LE64(e, struct kedr_blob_fixup, addend);

		switch (x->type) {
		case KEDR_FIXUP_PC32:
		case KEDR_FIXUP_ABS32S:
			width = 4;
			break;
		case KEDR_FIXUP_ABS64:
			width = 8;
			break;
		default:
			return kedr_bad(r, "fixups[%u]: unknown type %u",
					i, x->type);
		}
		if (!kedr_range_ok(x->offset, width, b->code_size))
			return kedr_bad(r, "fixups[%u]: field [%u, +%u) not inside the code image (%u bytes)",
					i, x->offset, width, b->code_size);
		switch (x->target) {
		case KEDR_TARGET_SYMBOL:
			if (!x->index || x->index >= r->num_symtab)
				return kedr_bad(r, "fixups[%u]: symbol index %u not in [1, target_num_symtab %u)",
						i, x->index, r->num_symtab);
			break;
		case KEDR_TARGET_HELPER:
			if (x->index >= KEDR_HELPER_COUNT_V1_5)
				return kedr_bad(r, "fixups[%u]: unknown helper %u",
						i, x->index);
			if (!(b->flags & KEDR_BLOB_CALL_ORC))
				break;
			if (!kedr_is_helper_call(b, x->offset))
				return kedr_bad(r, "fixups[%u]: helper call at 0x%x is not push $imm32; call rel32",
						i, x->offset);
			b->nr_call_orcs += KEDR_CALL_ORCS;
			break;
		default:
			return kedr_bad(r, "fixups[%u]: unknown target kind %u",
					i, x->target);
		}
	}
	return 0;
}

/*
 * A string site: the operands of one of LODS/OUTS (source read), STOS/INS
 * (destination write), SCAS (destination read), MOVS (source read,
 * destination write), CMPS (both read), and an element size.
 */
static int kedr_check_string_site(const struct kedr_blob_reader *r, u32 i,
				  const struct kedr_site *s)
{
	u8 ops = s->flags & ~(KEDR_SITE_GS | KEDR_SITE_SP);

	switch (ops) {
	case KEDR_SITE_STR_SRC_READ:
	case KEDR_SITE_STR_DST_READ:
	case KEDR_SITE_STR_DST_WRITE:
	case KEDR_SITE_STR_SRC_READ | KEDR_SITE_STR_DST_WRITE:
	case KEDR_SITE_STR_SRC_READ | KEDR_SITE_STR_DST_READ:
		break;
	default:
		return kedr_bad(r, "sites[%u]: string site with flags=0x%x",
				i, s->flags);
	}
	if (s->size != 1 && s->size != 2 && s->size != 4 && s->size != 8)
		return kedr_bad(r, "sites[%u]: string site with element size %u",
				i, s->size);
	return 0;
}

static int kedr_read_sites(const struct kedr_blob_reader *r,
			   struct kedr_blob *b)
{
	u32 i;
	int err;

	for (i = 0; i < b->nr_sites; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_SITES, i);
		struct kedr_site *s = &b->sites[i];

		s->func = KEDR_LE32(e, struct kedr_blob_site, func);
		s->offset = KEDR_LE32(e, struct kedr_blob_site, offset);
		s->kind = KEDR_U8(e, struct kedr_blob_site, kind);
		s->flags = KEDR_U8(e, struct kedr_blob_site, flags);
		s->size = KEDR_LE16(e, struct kedr_blob_site, size);

		if (s->func >= b->nr_funcs)
			return kedr_bad(r, "sites[%u]: func=%u >= %u functions",
					i, s->func, b->nr_funcs);
		if (s->offset >= b->funcs[s->func].size)
			return kedr_bad(r, "sites[%u]: offset=0x%x not inside functions[%u] (%u bytes)",
					i, s->offset, s->func,
					b->funcs[s->func].size);
		switch (s->kind) {
		case KEDR_EV_ENTRY:
		case KEDR_EV_EXIT:
			if (s->flags || s->size)
				return kedr_bad(r, "sites[%u]: function event with flags=0x%x size=%u",
						i, s->flags, s->size);
			break;
		case KEDR_EV_READ:
		case KEDR_EV_WRITE:
		case KEDR_EV_LOCKED_UPDATE:
		case KEDR_EV_READ_WRITE:
		case KEDR_EV_LOCKED_DONE:
			if (s->flags & ~(KEDR_SITE_GS | KEDR_SITE_SP))
				return kedr_bad(r, "sites[%u]: unknown flags 0x%x",
						i, s->flags);
			break;
		case KEDR_EV_STRING:
			err = kedr_check_string_site(r, i, s);
			if (err)
				return err;
			break;
		default:
			return kedr_bad(r, "sites[%u]: unknown kind %u",
					i, s->kind);
		}
	}
	return 0;
}

/* A landing pad (KEDR_PATCH_LANDING): a jmp rel32 in the original. */
static int kedr_read_landing(const struct kedr_blob_reader *r,
			     const struct kedr_blob *b, u32 i)
{
	const struct kedr_patch *p = &b->patches[i];
	const struct kedr_func *f = &b->funcs[p->func];

	if (p->length != JMP32_INSN_SIZE || p->slot_length)
		return kedr_bad(r, "patches[%u]: landing pad of %u bytes with a %u-byte slot",
				i, p->length, p->slot_length);
	/* Clear of the entry jump (or fentry site), inside the function. */
	if (p->orig_offset < JMP32_INSN_SIZE ||
	    !kedr_range_ok(p->orig_offset, p->length, f->size))
		return kedr_bad(r, "patches[%u]: landing pad [0x%x, +%u) not inside functions[%u] past its entry (%u bytes)",
				i, p->orig_offset, p->length, p->func, f->size);
	if (p->copy_offset - f->copy_offset >= f->copy_size)
		return kedr_bad(r, "patches[%u]: landing pad destination 0x%x not inside the copy of functions[%u] [0x%x, +%u)",
				i, p->copy_offset, p->func, f->copy_offset,
				f->copy_size);
	return 0;
}

static int kedr_cmp_pad(const void *a, const void *c, const void *priv)
{
	const struct kedr_patch *x = (const struct kedr_patch *)priv +
				     *(const u32 *)a;
	const struct kedr_patch *y = (const struct kedr_patch *)priv +
				     *(const u32 *)c;

	if (x->func != y->func)
		return x->func < y->func ? -1 : 1;
	if (x->orig_offset != y->orig_offset)
		return x->orig_offset < y->orig_offset ? -1 : 1;
	/* A total order: BlobReader reports the same pair. */
	return (*(const u32 *)a > *(const u32 *)c) -
	       (*(const u32 *)a < *(const u32 *)c);
}

static int kedr_cmp_slot(const void *a, const void *c, const void *priv)
{
	const struct kedr_patch *x = (const struct kedr_patch *)priv +
				     *(const u32 *)a;
	const struct kedr_patch *y = (const struct kedr_patch *)priv +
				     *(const u32 *)c;

	if (x->copy_offset != y->copy_offset)
		return x->copy_offset < y->copy_offset ? -1 : 1;
	/* Slots at one offset are taken in table order, as by BlobReader. */
	return (*(const u32 *)a > *(const u32 *)c) -
	       (*(const u32 *)a < *(const u32 *)c);
}

/*
 * Marks in @starts where the instructions of functions[@fi]'s copy begin:
 * decoded from its start; patch slots (@slots, sorted by copy_offset), not
 * filled yet, are taken whole. @pad is the first landing pad into it.
 */
static int kedr_mark_insns(const struct kedr_blob_reader *r,
			   const struct kedr_blob *b, u32 fi, u32 pad,
			   const u32 *slots, u32 nr_slots,
			   unsigned long *starts)
{
	const struct kedr_func *f = &b->funcs[fi];
	u32 pos = f->copy_offset, end = f->copy_offset + f->copy_size;
	u32 lo = kedr_lower_bound(nr_slots, i,
				  b->patches[slots[i]].copy_offset, pos);
	int len;

	while (pos < end) {
		const struct kedr_patch *slot =
			lo < nr_slots ? &b->patches[slots[lo]] : NULL;

		__set_bit(pos, starts);
		if (slot && slot->copy_offset == pos) {
			pos += slot->slot_length;
			lo++;
			continue;
		}
		len = kedr_insn_len(b->code + pos, end - pos);
		if (len < 0)
			return kedr_bad(r, "patches[%u]: cannot decode the copy of functions[%u] at 0x%x (%*ph) to check its landing pads",
					pad, fi, pos, (int)min(end - pos, 8U),
					b->code + pos);
		pos += len;
		if (slot && slot->copy_offset < pos)
			return kedr_bad(r, "patches[%u]: slot at 0x%x is inside an instruction of the copy of functions[%u]",
					slots[lo], slot->copy_offset, fi);
	}
	return 0;
}

/*
 * No two landing pads of a function overlap, and each goes to an
 * instruction boundary of the function's copy.
 */
static int kedr_check_landing_pads(const struct kedr_blob_reader *r,
				   const struct kedr_blob *b)
{
	u32 *pads, *slots, n = 0, ns = 0, i;
	unsigned long *starts;
	int err = 0;

	for (i = 0; i < b->nr_patches; i++)
		n += b->patches[i].kind == KEDR_PATCH_LANDING;
	if (!n)
		return 0;
	pads = kvmalloc_array(n, sizeof(*pads), GFP_KERNEL);
	slots = kvmalloc_array(max(b->nr_patches - n, 1U), sizeof(*slots),
			       GFP_KERNEL);
	starts = kvcalloc(BITS_TO_LONGS(b->code_size), sizeof(*starts),
			  GFP_KERNEL);
	if (!pads || !slots || !starts) {
		pr_err("blob %s: out of memory for checking landing pads\n",
		       r->fw_name);
		err = -ENOMEM;
		goto out;
	}
	for (n = 0, i = 0; i < b->nr_patches; i++) {
		if (b->patches[i].kind == KEDR_PATCH_LANDING)
			pads[n++] = i;
		else
			slots[ns++] = i;
	}
	sort_r(pads, n, sizeof(*pads), kedr_cmp_pad, NULL, b->patches);
	sort_r(slots, ns, sizeof(*slots), kedr_cmp_slot, NULL, b->patches);
	for (i = 0; i < n && !err; i++) {
		const struct kedr_patch *p = &b->patches[pads[i]];
		const struct kedr_patch *q = i ? &b->patches[pads[i - 1]] : NULL;

		if (q && q->func == p->func &&
		    q->orig_offset + q->length > p->orig_offset) {
			err = kedr_bad(r, "patches[%u] and patches[%u]: landing pads at 0x%x and 0x%x of functions[%u] overlap",
				       pads[i - 1], pads[i], q->orig_offset,
				       p->orig_offset, p->func);
			break;
		}
		if (!q || q->func != p->func) {
			err = kedr_mark_insns(r, b, p->func, pads[i], slots,
					      ns, starts);
			if (err)
				break;
		}
		if (!test_bit(p->copy_offset, starts))
			err = kedr_bad(r, "patches[%u]: landing pad destination 0x%x is not an instruction boundary of the copy of functions[%u]",
				       pads[i], p->copy_offset, p->func);
	}
out:
	kvfree(starts);
	kvfree(slots);
	kvfree(pads);
	return err;
}

static int kedr_read_patches(const struct kedr_blob_reader *r,
			     struct kedr_blob *b)
{
	u32 i;
	int err;

	for (i = 0; i < b->nr_patches; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_PATCHES, i);
		struct kedr_patch *p = &b->patches[i];

		p->copy_offset = KEDR_LE32(e, struct kedr_blob_patch,
					   copy_offset);
		p->func = KEDR_LE32(e, struct kedr_blob_patch, func);
		p->orig_offset = KEDR_LE32(e, struct kedr_blob_patch,
					   orig_offset);
		p->length = KEDR_LE16(e, struct kedr_blob_patch, length);
		p->slot_length = KEDR_LE16(e, struct kedr_blob_patch,
					   slot_length);
		p->kind = KEDR_U8(e, struct kedr_blob_patch, kind);
		p->target_copy_offset = KEDR_LE32(e, struct kedr_blob_patch,
						  target_copy_offset);

		if (p->func >= b->nr_funcs)
			return kedr_bad(r, "patches[%u]: func=%u >= %u functions",
					i, p->func, b->nr_funcs);
		if (p->kind == KEDR_PATCH_LANDING) {
			err = kedr_read_landing(r, b, i);
			if (err)
				return err;
			continue;
		}
		if (!p->length ||
		    !kedr_range_ok(p->orig_offset, p->length,
				   b->funcs[p->func].size))
			return kedr_bad(r, "patches[%u]: site [0x%x, +%u) not inside functions[%u] (%u bytes)",
					i, p->orig_offset, p->length, p->func,
					b->funcs[p->func].size);
		if (p->slot_length < p->length ||
		    !kedr_range_ok(p->copy_offset, p->slot_length,
				   b->code_size))
			return kedr_bad(r, "patches[%u]: slot [%u, +%u) for a %u-byte site not inside the code image (%u bytes)",
					i, p->copy_offset, p->slot_length,
					p->length, b->code_size);
		switch (p->kind) {
		case KEDR_PATCH_LIVE_BYTES:
			break;
		case KEDR_PATCH_JUMP_LABEL:
			/* The kernel's jump labels are 2 or 5 bytes long. */
			if ((p->length != 2 && p->length != 5) ||
			    p->slot_length < 5)
				return kedr_bad(r, "patches[%u]: jump label of %u bytes in a %u-byte slot",
						i, p->length, p->slot_length);
			if (p->target_copy_offset >= b->code_size)
				return kedr_bad(r, "patches[%u]: target_copy_offset=%u not inside the code image (%u bytes)",
						i, p->target_copy_offset,
						b->code_size);
			break;
		default:
			return kedr_bad(r, "patches[%u]: unknown kind %u",
					i, p->kind);
		}
	}
	return kedr_check_landing_pads(r, b);
}

/* A handler type and flags fixup_exception() handles (kedr_blob.h). */
static int kedr_check_ex_data(const struct kedr_blob_reader *r, u32 i,
			      u32 data)
{
	u32 type = data & KEDR_EX_TYPE_MASK;
	u32 flag = (data & KEDR_EX_FLAG_MASK) >> KEDR_EX_FLAG_SHIFT;

	if (type < KEDR_EX_TYPE_MIN || type > KEDR_EX_TYPE_MAX ||
	    type == KEDR_EX_TYPE_BPF || flag > KEDR_EX_FLAG_MAX)
		return kedr_bad(r, "extable[%u]: data=0x%x: handler type %u or flags 0x%x not accepted",
				i, data, type, flag);
	return 0;
}

static int kedr_read_extable(const struct kedr_blob_reader *r,
			     struct kedr_blob *b)
{
	u32 i;
	int err;

	for (i = 0; i < b->nr_extable; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_EXTABLE, i);
		struct kedr_extable *x = &b->extable[i];

		x->insn_copy = KEDR_LE32(e, struct kedr_blob_extable,
					 insn_copy);
		x->fixup_copy = KEDR_LE32(e, struct kedr_blob_extable,
					  fixup_copy);
		x->fixup_symidx = KEDR_LE32(e, struct kedr_blob_extable,
					    fixup_symidx);
		x->data = KEDR_LE32(e, struct kedr_blob_extable, data);
		x->fixup_addend = (s64)KEDR_LE64(e, struct kedr_blob_extable,
						 fixup_addend);
		if (x->insn_copy >= b->code_size)
			return kedr_bad(r, "extable[%u]: insn_copy=0x%x not inside the code image (%u bytes)",
					i, x->insn_copy, b->code_size);
		if (x->fixup_copy == KEDR_NO_COPY ?
		    !x->fixup_symidx || x->fixup_symidx >= r->num_symtab :
		    x->fixup_copy >= b->code_size)
			return kedr_bad(r, "extable[%u]: fixup_copy=0x%x fixup_symidx=%u: neither in the code image (%u bytes) nor a symbol (< %u)",
					i, x->fixup_copy, x->fixup_symidx,
					b->code_size, r->num_symtab);
		err = kedr_check_ex_data(r, i, x->data);
		if (err)
			return err;
	}
	return 0;
}

static int kedr_read_bugs(const struct kedr_blob_reader *r,
			  struct kedr_blob *b)
{
	u32 i;

	for (i = 0; i < b->nr_bugs; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_BUGS, i);
		struct kedr_bug *x = &b->bugs[i];

		x->copy_offset = KEDR_LE32(e, struct kedr_blob_bug, copy_offset);
		x->file_symidx = KEDR_LE32(e, struct kedr_blob_bug, file_symidx);
		x->file_addend = (s64)KEDR_LE64(e, struct kedr_blob_bug,
						file_addend);
		x->line = KEDR_LE16(e, struct kedr_blob_bug, line);
		x->flags = KEDR_LE16(e, struct kedr_blob_bug, flags);
		/* The kernel checks for a ud2 there before it looks. */
		if (!kedr_range_ok(x->copy_offset, 2, b->code_size))
			return kedr_bad(r, "bugs[%u]: copy_offset=0x%x not inside the code image (%u bytes)",
					i, x->copy_offset, b->code_size);
		if (!x->file_symidx || x->file_symidx >= r->num_symtab)
			return kedr_bad(r, "bugs[%u]: file_symidx=%u not in [1, %u)",
					i, x->file_symidx, r->num_symtab);
		if ((x->flags & 0xff & ~KEDR_BUG_KNOWN_FLAGS) ||
		    x->flags >> KEDR_BUG_TAINT_SHIFT >= KEDR_BUG_TAINT_COUNT)
			return kedr_bad(r, "bugs[%u]: flags=0x%x: unknown flags or taint",
					i, x->flags);
	}
	return 0;
}

static int kedr_read_orcs(const struct kedr_blob_reader *r,
			  struct kedr_blob *b)
{
	u32 i;

	for (i = 0; i < b->nr_orcs; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_ORC, i);
		struct kedr_orc *x = &b->orcs[i];

		x->copy_offset = KEDR_LE32(e, struct kedr_blob_orc, copy_offset);
		memcpy(x->entry, e + offsetof(struct kedr_blob_orc, entry),
		       sizeof(x->entry));
		/* An entry at code_size ends the last copy. */
		if (x->copy_offset > b->code_size)
			return kedr_bad(r, "orc[%u]: copy_offset=0x%x beyond the code image (%u bytes)",
					i, x->copy_offset, b->code_size);
		if (i && x->copy_offset < b->orcs[i - 1].copy_offset)
			return kedr_bad(r, "orc[%u]: copy_offset=0x%x < 0x%x of orc[%u]: not sorted",
					i, x->copy_offset,
					b->orcs[i - 1].copy_offset, i - 1);
	}
	return 0;
}

/* Imports (1.4): stubs sorted, disjoint, before the first copy; flags (1.6). */
static int kedr_read_imports(const struct kedr_blob_reader *r,
			     struct kedr_blob *b)
{
	u32 i, first_copy = b->code_size;
	u64 stub_end = 0;
	int err;

	for (i = 0; i < b->nr_funcs; i++)
		first_copy = min(first_copy, b->funcs[i].copy_offset);
	for (i = 0; i < b->nr_imports; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_IMPORTS, i);
		struct kedr_import *x = &b->imports[i];
		u32 name;

		err = kedr_string(r, KEDR_LE32(e, struct kedr_blob_import, name),
				  "imports", i, &name);
		if (err)
			return err;
		x->name = b->strings + name;
		x->symidx = KEDR_LE32(e, struct kedr_blob_import, symidx);
		x->stub_offset = KEDR_LE32(e, struct kedr_blob_import,
					   stub_offset);
		x->flags = KEDR_LE32(e, struct kedr_blob_import, flags);
		if (x->flags & ~KEDR_IMPORT_KNOWN_FLAGS)
			return kedr_bad(r, "imports[%u]: unknown flags 0x%x",
					i, x->flags);
		if (!x->symidx || x->symidx >= b->target_num_symtab)
			return kedr_bad(r, "imports[%u]: symidx=%u out of [1, %u)",
					i, x->symidx, b->target_num_symtab);
		if (x->stub_offset < stub_end ||
		    (u64)x->stub_offset + KEDR_STUB_SIZE > first_copy)
			return kedr_bad(r, "imports[%u]: stub [0x%x, +%u) unsorted, overlapping or not before the first copy (0x%x)",
					i, x->stub_offset, KEDR_STUB_SIZE,
					first_copy);
		stub_end = (u64)x->stub_offset + KEDR_STUB_SIZE;
	}
	return 0;
}

/* Calls (1.4): sorted, each a call rel32 of its function's copy to a stub. */
static int kedr_read_calls(const struct kedr_blob_reader *r,
			   struct kedr_blob *b)
{
	u32 i, prev = 0;

	for (i = 0; i < b->nr_calls; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_CALLS, i);
		struct kedr_call *x = &b->calls[i];
		const struct kedr_func *f;
		const u8 *insn;

		x->ret_offset = KEDR_LE32(e, struct kedr_blob_call, ret_offset);
		x->func = KEDR_LE32(e, struct kedr_blob_call, func);
		x->orig_offset = KEDR_LE32(e, struct kedr_blob_call,
					   orig_offset);
		x->import = KEDR_LE32(e, struct kedr_blob_call, import);
		if (x->func >= b->nr_funcs || x->import >= b->nr_imports)
			return kedr_bad(r, "calls[%u]: func=%u or import=%u out of range",
					i, x->func, x->import);
		f = &b->funcs[x->func];
		if (x->ret_offset <= prev || x->orig_offset >= f->size ||
		    x->ret_offset < (u64)f->copy_offset + CALL_INSN_SIZE ||
		    x->ret_offset > (u64)f->copy_offset + f->copy_size)
			return kedr_bad(r, "calls[%u]: ret_offset=0x%x unsorted or not in the copy of function %u, or orig_offset=0x%x outside it",
					i, x->ret_offset, x->func,
					x->orig_offset);
		insn = b->code + x->ret_offset - CALL_INSN_SIZE;
		if (insn[0] != CALL_INSN_OPCODE ||
		    (s64)x->ret_offset + (s32)get_unaligned_le32(insn + 1) !=
		    b->imports[x->import].stub_offset)
			return kedr_bad(r, "calls[%u]: the code at 0x%x is not a call to the stub of import %u",
					i, x->ret_offset - CALL_INSN_SIZE,
					x->import);
		prev = x->ret_offset;
	}
	return 0;
}

/*
 * Probes (1.5): in their function's original and copy, each the first at
 * its place (site == index, with the helper call at copy_offset) or one
 * more at an earlier probe's place.
 */
static int kedr_read_probes(const struct kedr_blob_reader *r,
			    struct kedr_blob *b)
{
	u32 i;

	for (i = 0; i < b->nr_probes; i++) {
		const u8 *e = kedr_entry(r, KEDR_TABLE_PROBES, i);
		struct kedr_probe_site *x = &b->probes[i];
		const struct kedr_probe_site *first;
		const struct kedr_func *f;
		const u8 *insn;

		x->func = KEDR_LE32(e, struct kedr_blob_probe, func);
		x->offset = KEDR_LE32(e, struct kedr_blob_probe, offset);
		x->copy_offset = KEDR_LE32(e, struct kedr_blob_probe,
					   copy_offset);
		x->site = KEDR_LE32(e, struct kedr_blob_probe, site);
		x->length = KEDR_LE16(e, struct kedr_blob_probe, length);
		if (x->func >= b->nr_funcs || x->site > i)
			return kedr_bad(r, "probes[%u]: func=%u or site=%u out of range",
					i, x->func, x->site);
		f = &b->funcs[x->func];
		if (!x->length || x->length > KEDR_MAX_INSN_SIZE ||
		    (u64)x->offset + x->length > f->size ||
		    x->copy_offset < f->copy_offset ||
		    (u64)x->copy_offset + KEDR_PROBE_CALL_SIZE >
		    (u64)f->copy_offset + f->copy_size)
			return kedr_bad(r, "probes[%u]: instruction [0x%x, +%u) or call at 0x%x not in function %u",
					i, x->offset, x->length,
					x->copy_offset, x->func);
		first = &b->probes[x->site];
		if (x->site < i && (first->site != x->site ||
				    first->func != x->func ||
				    first->offset != x->offset ||
				    first->copy_offset != x->copy_offset))
			return kedr_bad(r, "probes[%u]: site %u is not the first probe at its place",
					i, x->site);
		insn = b->code + x->copy_offset;
		if (insn[0] != 0x68 /* push imm32 */ ||
		    get_unaligned_le32(insn + 1) != x->site ||
		    insn[5] != CALL_INSN_OPCODE)
			return kedr_bad(r, "probes[%u]: the code at 0x%x is not push $%u; call",
					i, x->copy_offset, x->site);
	}
	return 0;
}

/* The first probe at its place whose call's rel32 is at @field, or -1. */
static int kedr_probe_call_at(const struct kedr_blob *b, s64 field)
{
	const u8 *push;
	u32 site;

	if (field < KEDR_CALL_FIELD || field + 4 > b->code_size)
		return -1;
	push = b->code + field - KEDR_CALL_FIELD;
	if (push[0] != 0x68 || push[KEDR_CALL_FIELD - 1] != CALL_INSN_OPCODE)
		return -1;
	site = get_unaligned_le32(push + 1);
	if (site >= b->nr_probes || b->probes[site].site != site ||
	    (s64)b->probes[site].copy_offset + KEDR_CALL_FIELD != field)
		return -1;
	return site;
}

/* Fixup @x leaves the rel32 of each probe call it writes over: called? */
static void kedr_mark_probe_calls(const struct kedr_blob *b,
				  const struct kedr_fixup *x,
				  unsigned long *called)
{
	s64 at, end = (s64)x->offset + (x->type == KEDR_FIXUP_ABS64 ? 8 : 4);
	int site;

	for (at = (s64)x->offset - 3; at < end; at++) {
		site = kedr_probe_call_at(b, at);
		if (site < 0)
			continue;
		if (at == x->offset && x->type == KEDR_FIXUP_PC32 &&
		    x->target == KEDR_TARGET_HELPER &&
		    x->index == KEDR_HELPER_PROBE)
			__set_bit(site, called);
		else
			__clear_bit(site, called);
	}
}

/*
 * Every probe helper call is a probe's: push $site; call with the site a
 * probe that is the first at its place and whose copy_offset is that push.
 * kedr_helper_probe indexes a table with the pushed site unchecked. The
 * fixups' fields are inside the image (kedr_read_fixups()). Conversely,
 * every probe that is the first at its place has its call fixed up to the
 * helper (a PC32 one), and no later fixup writes over that rel32 (fixups
 * are applied in order): else the call would go where the image's rel32 or
 * another fixup says, the probe listed and never hit.
 */
static int kedr_check_probe_calls(const struct kedr_blob_reader *r,
				  const struct kedr_blob *b)
{
	const struct kedr_fixup *x;
	unsigned long *called;
	const u8 *push;
	u32 i, site;
	int err = 0;

	called = bitmap_zalloc(b->nr_probes, GFP_KERNEL);
	if (b->nr_probes && !called) {
		pr_err("blob %s: out of memory for checking probe calls\n",
		       r->fw_name);
		return -ENOMEM;
	}
	for (i = 0; i < b->nr_fixups; i++) {
		x = &b->fixups[i];
		kedr_mark_probe_calls(b, x, called);
		if (x->target != KEDR_TARGET_HELPER ||
		    x->index != KEDR_HELPER_PROBE)
			continue;
		site = U32_MAX;
		push = x->offset >= KEDR_CALL_FIELD ?
		       b->code + x->offset - KEDR_CALL_FIELD : NULL;
		if (push && push[0] == 0x68 /* push imm32 */ &&
		    push[KEDR_CALL_FIELD - 1] == CALL_INSN_OPCODE)
			site = get_unaligned_le32(push + 1);
		if (site >= b->nr_probes || b->probes[site].site != site ||
		    (u64)b->probes[site].copy_offset + KEDR_CALL_FIELD !=
		    x->offset) {
			err = kedr_bad(r, "fixups[%u]: probe helper call at 0x%x is not the call of a probe (push $site; call: site %u, %u probes)",
				       i, x->offset, site, b->nr_probes);
			goto out;
		}
	}
	for (i = 0; i < b->nr_probes; i++) {
		if (b->probes[i].site == i && !test_bit(i, called)) {
			err = kedr_bad(r, "probes[%u]: the call at 0x%x is not fixed up to the probe helper (no pc32 KEDR_HELPER_PROBE fixup at 0x%x, or a later fixup over it)",
				       i, b->probes[i].copy_offset +
				       KEDR_CALL_FIELD - 1,
				       b->probes[i].copy_offset +
				       KEDR_CALL_FIELD);
			goto out;
		}
	}
out:
	bitmap_free(called);
	return err;
}

void kedr_blob_free(struct kedr_blob *b)
{
	if (!b)
		return;
	kvfree(b->funcs);
	kvfree(b->masks);
	kvfree(b->fixups);
	kvfree(b->sites);
	kvfree(b->patches);
	kvfree(b->code);
	kvfree(b->strings);
	kvfree(b->extable);
	kvfree(b->bugs);
	kvfree(b->orcs);
	kvfree(b->imports);
	kvfree(b->calls);
	kvfree(b->probes);
	kfree(b);
}

static int kedr_blob_parse(struct kedr_blob_reader *r, const char *target,
			   struct kedr_blob *b)
{
	const u8 *h = r->data;
	u32 name_off, srcv_off, i, *name_offs;
	int err;

	err = kedr_check_header(r, &b->code_align, &b->flags);
	if (err)
		return err;

	b->strings_size = r->count[KEDR_TABLE_STRINGS];
	b->nr_funcs = r->count[KEDR_TABLE_FUNCTIONS];
	b->nr_masks = r->count[KEDR_TABLE_MASKS];
	b->nr_fixups = r->count[KEDR_TABLE_FIXUPS];
	b->nr_sites = r->count[KEDR_TABLE_SITES];
	b->nr_patches = r->count[KEDR_TABLE_PATCHES];
	b->code_size = r->count[KEDR_TABLE_CODE];
	b->nr_extable = r->count[KEDR_TABLE_EXTABLE];
	b->nr_bugs = r->count[KEDR_TABLE_BUGS];
	b->nr_orcs = r->count[KEDR_TABLE_ORC];
	b->nr_imports = r->count[KEDR_TABLE_IMPORTS];
	b->nr_calls = r->count[KEDR_TABLE_CALLS];
	b->nr_probes = r->count[KEDR_TABLE_PROBES];
	b->target_num_symtab = r->num_symtab;
	b->target_build_id_len = KEDR_LE32(h, struct kedr_blob_header,
					   target_build_id_len);
	memcpy(b->target_build_id,
	       h + offsetof(struct kedr_blob_header, target_build_id),
	       KEDR_BUILD_ID_MAX);

	/* Every string offset below the table's size is NUL-terminated. */
	if (b->strings_size &&
	    r->data[r->off[KEDR_TABLE_STRINGS] + b->strings_size - 1])
		return kedr_bad(r, "table strings: last byte is not NUL");
	if (b->code_size > KEDR_AREA_SIZE)
		return kedr_bad(r, "table code: %u bytes, the code area holds %u",
				b->code_size, KEDR_AREA_SIZE);

	err = kedr_string(r, KEDR_LE32(h, struct kedr_blob_header,
				       target_name),
			  "header.target_name", U32_MAX, &name_off);
	if (!err)
		err = kedr_string(r, KEDR_LE32(h, struct kedr_blob_header,
					       target_srcversion),
				  "header.target_srcversion", U32_MAX,
				  &srcv_off);
	if (err)
		return err;

	b->strings = kvmalloc(max(b->strings_size, 1U), GFP_KERNEL);
	b->code = kvmalloc(max(b->code_size, 1U), GFP_KERNEL);
	b->funcs = kvcalloc(b->nr_funcs, sizeof(*b->funcs), GFP_KERNEL);
	b->masks = kvcalloc(b->nr_masks, sizeof(*b->masks), GFP_KERNEL);
	b->fixups = kvcalloc(b->nr_fixups, sizeof(*b->fixups), GFP_KERNEL);
	b->sites = kvcalloc(b->nr_sites, sizeof(*b->sites), GFP_KERNEL);
	b->patches = kvcalloc(b->nr_patches, sizeof(*b->patches), GFP_KERNEL);
	b->extable = kvcalloc(b->nr_extable, sizeof(*b->extable), GFP_KERNEL);
	b->bugs = kvcalloc(b->nr_bugs, sizeof(*b->bugs), GFP_KERNEL);
	b->orcs = kvcalloc(b->nr_orcs, sizeof(*b->orcs), GFP_KERNEL);
	b->imports = kvcalloc(b->nr_imports, sizeof(*b->imports), GFP_KERNEL);
	b->calls = kvcalloc(b->nr_calls, sizeof(*b->calls), GFP_KERNEL);
	b->probes = kvcalloc(b->nr_probes, sizeof(*b->probes), GFP_KERNEL);
	name_offs = kvcalloc(b->nr_funcs, sizeof(*name_offs), GFP_KERNEL);
	if ((b->nr_extable && !b->extable) || (b->nr_bugs && !b->bugs) ||
	    (b->nr_orcs && !b->orcs) || (b->nr_imports && !b->imports) ||
	    (b->nr_calls && !b->calls) || (b->nr_probes && !b->probes) ||
	    !b->strings || !b->code || !name_offs ||
	    (b->nr_funcs && !b->funcs) || (b->nr_masks && !b->masks) ||
	    (b->nr_fixups && !b->fixups) || (b->nr_sites && !b->sites) ||
	    (b->nr_patches && !b->patches)) {
		pr_err("blob %s: out of memory for its tables\n", r->fw_name);
		err = -ENOMEM;
		goto out;
	}
	memcpy(b->strings, r->data + r->off[KEDR_TABLE_STRINGS],
	       b->strings_size);
	memcpy(b->code, r->data + r->off[KEDR_TABLE_CODE], b->code_size);

	b->target_name = b->strings + name_off;
	b->target_srcversion = b->strings + srcv_off;
	if (strcmp(b->target_name, target)) {
		err = kedr_bad(r, "it was built for module \"%s\", not \"%s\"",
			       b->target_name, target);
		goto out;
	}

	err = kedr_read_funcs(r, b, name_offs);
	if (!err)
		err = kedr_read_masks(r, b);
	if (!err)
		err = kedr_read_fixups(r, b);
	if (!err)
		err = kedr_read_sites(r, b);
	if (!err)
		err = kedr_read_patches(r, b);
	if (!err)
		err = kedr_read_extable(r, b);
	if (!err)
		err = kedr_read_bugs(r, b);
	if (!err)
		err = kedr_read_orcs(r, b);
	if (!err)
		err = kedr_read_imports(r, b);
	if (!err)
		err = kedr_read_calls(r, b);
	if (!err)
		err = kedr_read_probes(r, b);
	if (!err)
		err = kedr_check_probe_calls(r, b);
	if (err)
		goto out;
	for (i = 0; i < b->nr_funcs; i++)
		b->funcs[i].name = b->strings + name_offs[i];
out:
	kvfree(name_offs);
	return err;
}

int kedr_blob_load(const char *fw_name, const char *target,
		   struct kedr_blob **out)
{
	struct kedr_blob_reader r = { .fw_name = fw_name };
	const struct firmware *fw;
	struct kedr_blob *b;
	int err;

	/* A blob is code to run in the kernel, and nothing has signed it. */
	err = security_locked_down(LOCKDOWN_MODULE_SIGNATURE);
	if (err) {
		pr_err("blob %s refused: the kernel is locked down, and a blob is unsigned code\n",
		       fw_name);
		return err;
	}

	err = firmware_request_nowarn(&fw, fw_name, NULL);
	if (err == -ENOENT) {
		pr_err("blob %s not found: `kedr instrument --install` puts it in /lib/firmware/kedr/\n",
		       fw_name);
		return err;
	}
	if (err) {
		pr_err("cannot load blob %s: error %d\n", fw_name, err);
		return err;
	}

	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b) {
		err = -ENOMEM;
		goto out;
	}
	r.data = fw->data;
	r.size = fw->size;
	err = kedr_blob_parse(&r, target, b);
	if (err) {
		kedr_blob_free(b);
		goto out;
	}
	*out = b;
out:
	release_firmware(fw);
	return err;
}
