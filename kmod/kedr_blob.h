/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KEDR blob: the instrumented copies of a target module's functions, as
 * precomputed by the rewriter (`kedr instrument`), plus everything the loader
 * needs to validate them against the live module and to relocate them.
 *
 * This header is the definition of the format; docs/blob-format.md explains
 * it and Kedr.Core/Blob mirrors it (a test checks that the layouts agree).
 * All fields are little-endian. Offsets are from the start of the blob.
 */
#ifndef KEDR_BLOB_H
#define KEDR_BLOB_H

#include "kedr_types.h"

#define KEDR_BLOB_MAGIC		"KEDRBLOB"
#define KEDR_BLOB_MAGIC_LEN	8
/* Incompatible changes bump the major version; the loader refuses others. */
#define KEDR_BLOB_VERSION_MAJOR	1
/* Compatible additions (new tables, longer entries, flags) bump the minor one. */
#define KEDR_BLOB_VERSION_MINOR	7

/*
 * Header flags. Each changes what the loader must do, so a loader refuses a
 * blob with a flag it does not know (1.0 and 1.1 loaders refuse every flag).
 *
 * KEDR_BLOB_WORD_DIGEST (1.2): function digests step FNV-1a 64 over the bytes
 * taken as 8-byte little-endian words, then over the last size % 8 bytes one
 * at a time; without it, over every byte (1.0, 1.1).
 *
 * KEDR_BLOB_CALL_ORC (1.2): the ORC table leaves out the two entries of each
 * helper call (a KEDR_TARGET_HELPER fixup at F: `push $site` at F - 6, `call`
 * at F - 1). The loader adds them from the state S in effect at F - 6, where
 * S computes the CFA from %rsp: S with sp_offset + 8 at F - 1, S at F + 4;
 * an entry of the table at the same place takes precedence.
 */
#define KEDR_BLOB_WORD_DIGEST	0x1
#define KEDR_BLOB_CALL_ORC	0x2
#define KEDR_BLOB_KNOWN_FLAGS	(KEDR_BLOB_WORD_DIGEST | KEDR_BLOB_CALL_ORC)

#define KEDR_BUILD_ID_MAX	20
#define KEDR_DIGEST_SEED	0xcbf29ce484222325ULL	/* FNV-1a 64 offset basis */
#define KEDR_DIGEST_PRIME	0x100000001b3ULL	/* FNV-1a 64 prime */

/* A table: @count entries of @entsize bytes each, starting at @offset. */
struct kedr_blob_table {
	__le32 offset;
	__le32 count;
	__le32 entsize;	/* >= the size of the entry struct below */
	__le32 reserved;
};

enum kedr_blob_table_id {
	KEDR_TABLE_STRINGS = 0,	/* entsize 1: NUL-terminated strings */
	KEDR_TABLE_FUNCTIONS,	/* struct kedr_blob_func */
	KEDR_TABLE_MASKS,	/* struct kedr_blob_mask */
	KEDR_TABLE_FIXUPS,	/* struct kedr_blob_fixup */
	KEDR_TABLE_SITES,	/* struct kedr_blob_site */
	KEDR_TABLE_PATCHES,	/* struct kedr_blob_patch */
	KEDR_TABLE_CODE,	/* entsize 1: the code image */
	KEDR_TABLE_COUNT_V1,
	/* Added in 1.1; a 1.0 blob has num_tables == 7 and none of these. */
	KEDR_TABLE_EXTABLE = KEDR_TABLE_COUNT_V1, /* struct kedr_blob_extable */
	KEDR_TABLE_BUGS,	/* struct kedr_blob_bug */
	KEDR_TABLE_ORC,		/* struct kedr_blob_orc, sorted by copy_offset */
	KEDR_TABLE_COUNT_V1_1,
	/*
	 * Added in 1.3: one __le32 (entsize >= 4, count 1), the CRC-32C
	 * (Castagnoli, reflected, initial value and final xor 0xffffffff) of
	 * every byte of the blob but these 4, in order. A reader refuses a
	 * blob of minor version >= 3 without it, and a blob that has it (any
	 * minor) if it does not match; it checks the header and the table
	 * descriptors, then the checksum, before it uses anything else.
	 */
	KEDR_TABLE_CHECKSUM = KEDR_TABLE_COUNT_V1_1,
	KEDR_TABLE_COUNT_V1_3,
	/* Added in 1.4 (interception, kedr_payload.h); empty before. */
	KEDR_TABLE_IMPORTS = KEDR_TABLE_COUNT_V1_3, /* struct kedr_blob_import */
	KEDR_TABLE_CALLS,	/* struct kedr_blob_call, sorted by ret_offset */
	KEDR_TABLE_COUNT_V1_4,
	/* Added in 1.5 (probes, kedr_probe.h); empty before. */
	KEDR_TABLE_PROBES = KEDR_TABLE_COUNT_V1_4, /* struct kedr_blob_probe */
	KEDR_TABLE_COUNT_V1_5
};

/* The minor version from which a blob must carry KEDR_TABLE_CHECKSUM. */
#define KEDR_BLOB_CHECKSUM_MINOR	3

struct kedr_blob_header {
	char magic[KEDR_BLOB_MAGIC_LEN];
	__le16 version_major;
	__le16 version_minor;
	__le32 header_size;		/* offsetof(tables) + 16 * num_tables */
	__le32 blob_size;		/* whole blob, header included */
	__le32 flags;			/* KEDR_BLOB_* flags */
	/* What the blob was built for. */
	__le32 target_name;		/* string: module name, '-' -> '_' */
	__le32 target_srcversion;	/* string: .modinfo srcversion or "" */
	__le32 target_num_symtab;	/* entries in the target's .symtab */
	__le32 target_build_id_len;	/* 0 if the .ko had no build-id */
	__u8 target_build_id[KEDR_BUILD_ID_MAX];
	__le32 code_align;		/* power of two the code image needs */
	__le32 num_tables;		/* >= KEDR_TABLE_COUNT_V1 */
	/*
	 * num_tables entries, indexed by enum kedr_blob_table_id; the header
	 * ends here (header_size = offsetof(tables) + 16 * num_tables). Minor
	 * versions only ever append tables, never header fields; a reader
	 * uses the tables it knows and ignores the rest.
	 */
	struct kedr_blob_table tables[KEDR_TABLE_COUNT_V1_5];
};

/* One instrumented function. */
struct kedr_blob_func {
	__le32 name;		/* string */
	__le32 symidx;		/* its symbol in the target's .symtab */
	__le32 size;		/* bytes of the original */
	__le32 copy_offset;	/* start of the copy in the code image */
	__le32 copy_size;
	__le32 mask_first;	/* its masks: [mask_first, +mask_count) */
	__le32 mask_count;
	__le32 flags;		/* KEDR_FUNC_* */
	__le64 digest;		/* of the original, masked bytes as 0 (flags) */
	__le32 owner;		/* function events are reported for */
	__le32 reserved;
};

#define KEDR_FUNC_INIT	0x1	/* in an .init section: freed after init */
#define KEDR_FUNC_PART	0x2	/* a .cold part of @owner: no entry event */

/*
 * Bytes of the original that the kernel writes at load time (relocations,
 * fentry, alternatives, retpolines, return thunks, jump labels, static
 * calls): excluded from the digest.
 */
struct kedr_blob_mask {
	__le32 offset;		/* within the function */
	__le32 length;
};

/* A field of the code image to fill in once its placement is known. */
struct kedr_blob_fixup {
	__le32 offset;		/* of the field in the code image */
	__u8 type;		/* KEDR_FIXUP_* */
	__u8 target;		/* KEDR_TARGET_* */
	__le16 reserved;
	__le32 index;		/* symbol index or helper id */
	__le32 reserved2;
	__le64 addend;		/* signed */
};

enum kedr_fixup_type {
	KEDR_FIXUP_PC32 = 1,	/* s32 = S + A - P, -ERANGE if it does not fit */
	KEDR_FIXUP_ABS64,	/* u64 = S + A */
	KEDR_FIXUP_ABS32S,	/* s32 = S + A, sign-extended by the CPU */
};

enum kedr_fixup_target {
	/* S = st_value of entry @index of the live target's symtab. */
	KEDR_TARGET_SYMBOL = 1,
	/* S = address of the loader's helper @index (enum kedr_helper). */
	KEDR_TARGET_HELPER,
};

/*
 * Helpers the copies call. Each is entered as
 *	push $site_index
 *	call helper
 * and returns with `ret $8`, preserving every register and the flags
 * (except where noted: KEDR_HELPER_FUNC_EVENT runs where the C ABI makes
 * the status flags dead, at entries, before returns and tail calls, and so
 * preserves only DF of them).
 */
enum kedr_helper {
	KEDR_HELPER_FUNC_EVENT = 0,	/* function entry or exit */
	KEDR_HELPER_MEM_EVENT,		/* memory access, %rax = address */
	/*
	 * After a string instruction (LODS, STOS, SCAS, MOVS, CMPS, INS,
	 * OUTS, with or without REP), entered as
	 *	push %rsi; push %rdi; <string insn>; push $site; call helper
	 * so that at the call 8(%rsp) is the site, 16(%rsp) the start %rdi,
	 * 24(%rsp) the start %rsi, and %rsi/%rdi/eflags.DF are the values after
	 * the instruction. Each operand named by the site's KEDR_SITE_STR_*
	 * flags gives one event covering the bytes actually touched:
	 * |end - start| bytes, from start (DF=0) or end + size (DF=1); none
	 * if the pointer did not move (zero count). The source ([%rsi]) event
	 * comes first. The copy drops the two saved pointers afterwards.
	 */
	KEDR_HELPER_STRING_EVENT,
	/*
	 * Bit-string instructions with a register bit offset (BT, BTS, BTR,
	 * BTC r, m), entered as
	 *	push %rax; push %offset_reg; lea M, %rax; push $site; call helper
	 * so that %rax is the bit string's base and 16(%rsp) the offset
	 * register's value. The CPU accesses the operand-size unit holding
	 * the bit (Intel SDM, BT), so the event is site.size bytes at
	 *	base + site.size * floor(offset / (8 * site.size))
	 * with the offset sign-extended from the operand size (site.size
	 * bytes).
	 */
	KEDR_HELPER_BITOP_EVENT,
	/*
	 * As KEDR_HELPER_MEM_EVENT, but the status flags (CF, PF, AF, ZF, SF,
	 * OF; not DF) may change: the rewriter uses it where its liveness
	 * analysis shows them dead, which saves the helper's popfq. The copy
	 * may also leave out its push/pop of %rax where %rax is dead.
	 */
	KEDR_HELPER_MEM_EVENT_NOFLAGS,
	KEDR_HELPER_COUNT_V1,
	/*
	 * A probe (1.5), right before the copy of the probed instruction,
	 * with the stack as the original has it there: the pushed index is
	 * the probe's site (struct kedr_blob_probe). Every register and the
	 * flags are preserved.
	 */
	KEDR_HELPER_PROBE = KEDR_HELPER_COUNT_V1,
	KEDR_HELPER_COUNT_V1_5
};

/* A place in the copies that reports an event. */
struct kedr_blob_site {
	__le32 func;		/* function whose original holds the pc */
	__le32 offset;		/* pc - start of that function */
	__u8 kind;		/* KEDR_EV_* */
	__u8 flags;		/* KEDR_SITE_* */
	__le16 size;		/* bytes accessed; 0 for function events */
};

enum kedr_event_kind {
	KEDR_EV_ENTRY = 1,
	KEDR_EV_EXIT,
	KEDR_EV_READ,
	KEDR_EV_WRITE,
	KEDR_EV_LOCKED_UPDATE,
	KEDR_EV_READ_WRITE,	/* one site, a read then a write event */
	KEDR_EV_STRING,		/* string instruction: KEDR_SITE_STR_* say which */
	/*
	 * 1.7: the same locked read-modify-write as a KEDR_EV_LOCKED_UPDATE
	 * site, reported again once the instruction has run (its helper call
	 * follows the instruction): the acquire side of the update, stamped
	 * after it took effect (docs/races.md). Its value is also its record
	 * kind (kedr_record.h's KEDR_REC_* take 8-16).
	 */
	KEDR_EV_LOCKED_DONE = 17,
};

#define KEDR_SITE_GS	0x1	/* %gs-relative: add this CPU's GS base */
#define KEDR_SITE_SP	0x2	/* %rsp-based: recorded only with process_sp_accesses */
/* String sites (size = element size): which operands are accessed, how. */
#define KEDR_SITE_STR_SRC_READ	0x4	/* reads [%rsi] */
#define KEDR_SITE_STR_DST_READ	0x8	/* reads [%rdi] */
#define KEDR_SITE_STR_DST_WRITE	0x10	/* writes [%rdi] */
/* Locked string ops do not exist; LOCK BTS/BTR/BTC use KEDR_EV_LOCKED_UPDATE. */

/*
 * A site of the original that the kernel rewrites at run time; the loader
 * fills its slot in the copy from the live original.
 */
struct kedr_blob_patch {
	__le32 copy_offset;	/* slot in the code image */
	__le32 func;		/* function whose original holds the site */
	__le32 orig_offset;	/* within that function */
	__le16 length;		/* of the site in the original */
	__le16 slot_length;	/* of the slot in the copy, >= length */
	__u8 kind;		/* KEDR_PATCH_* */
	__u8 reserved[3];
	__le32 target_copy_offset; /* JUMP_LABEL: where a live jmp goes */
};

enum kedr_patch_kind {
	/*
	 * Alternatives: copy the live bytes; a leading 5-byte call/jmp rel32
	 * is rebased to the slot; the rest of the slot is NOPs.
	 */
	KEDR_PATCH_LIVE_BYTES = 1,
	/* Jump label: a live jmp becomes a jmp to target_copy_offset, a live
	 * NOP becomes a NOP of the slot's length.
	 */
	KEDR_PATCH_JUMP_LABEL,
	/*
	 * Landing pad (1.1): data of the module points into the middle of
	 * this function (an asm jump table, a computed goto): write a 5-byte
	 * `jmp rel32` to copy_offset at orig_offset of the ORIGINAL, so an
	 * indirect branch there continues in the copy. length is 5, slot_length
	 * 0; the rewriter guarantees the 5 bytes are inside the function, clear
	 * of the entry jump, of other pads and of every site the kernel patches
	 * later (jump labels, static calls).
	 */
	KEDR_PATCH_LANDING,
};

/* No copy: the place is outside every copied function. */
#define KEDR_NO_COPY	0xffffffffU

/*
 * An __ex_table entry of the original, moved to the copy: a fault at
 * insn_copy continues at fixup_copy (or, if that is KEDR_NO_COPY, at target
 * symbol fixup_symidx + fixup_addend) with the original's handler type and
 * data. The loader builds a sorted exception table from these.
 */
struct kedr_blob_extable {
	__le32 insn_copy;
	__le32 fixup_copy;
	__le32 fixup_symidx;
	__le32 data;		/* struct exception_table_entry.data, as is */
	__le64 fixup_addend;
};

/*
 * What a reader accepts in kedr_blob_extable.data: the handler types x86
 * 6.1's fixup_exception() has a case for (its default is BUG()), in
 * [KEDR_EX_TYPE_MIN, KEDR_EX_TYPE_MAX] (EX_DATA_TYPE_MASK), except
 * EX_TYPE_BPF, whose handler reads a BPF JIT's encoding from the fixup
 * field, not an address; and no flag beyond EX_FLAG_CLEAR_AX_DX
 * (EX_DATA_FLAG_MASK). The register and the immediate may be anything.
 */
#define KEDR_EX_TYPE_MASK	0x000000ff	/* EX_DATA_TYPE_MASK */
#define KEDR_EX_TYPE_MIN	1		/* EX_TYPE_DEFAULT */
#define KEDR_EX_TYPE_MAX	20		/* EX_TYPE_ZEROPAD */
#define KEDR_EX_TYPE_BPF	7		/* EX_TYPE_BPF: refused */
#define KEDR_EX_FLAG_MASK	0x0000f000	/* EX_DATA_FLAG_MASK */
#define KEDR_EX_FLAG_SHIFT	12		/* EX_DATA_FLAG_SHIFT */
#define KEDR_EX_FLAG_MAX	3		/* EX_FLAG_CLEAR_AX_DX >> shift */

/*
 * A __bug_table entry of the original (WARN/BUG ud2), moved to the copy:
 * the file name is target symbol file_symidx + file_addend.
 */
struct kedr_blob_bug {
	__le32 copy_offset;	/* of the ud2 */
	__le32 file_symidx;
	__le64 file_addend;
	__le16 line;
	__le16 flags;		/* BUGFLAG_* as in the original */
	__le32 reserved;
};

/*
 * What a reader accepts in kedr_blob_bug.flags (include/asm-generic/bug.h
 * of 6.1): BUGFLAG_WARNING, _ONCE, _DONE, _NO_CUT_HERE in the low byte,
 * BUGFLAG_TAINT(taint) above it with taint < TAINT_FLAGS_COUNT, which
 * report_bug() passes to add_taint() as a bit number.
 */
#define KEDR_BUG_KNOWN_FLAGS	0x000f
#define KEDR_BUG_TAINT_SHIFT	8
#define KEDR_BUG_TAINT_COUNT	19		/* TAINT_FLAGS_COUNT */

/*
 * An ORC entry for the copies: from copy_offset on, unwind with @entry, the
 * 6 bytes of the kernel's struct orc_entry (sp_offset, bp_offset, then
 * sp_reg:4 bp_reg:4 type:2 end:1) as in the original's .orc_unwind, with
 * sp_offset adjusted inside the copy's inserted sequences.
 */
struct kedr_blob_orc {
	__le32 copy_offset;
	__u8 entry[6];
	__le16 reserved;
};

/*
 * An imported kernel function (1.4): an undefined symbol of the target that
 * the copies call or tail-call directly (rel32), or (1.6) whose address the
 * target's data holds (KEDR_IMPORT_ADDRESS_TAKEN), or (1.6) a static call
 * trampoline the copies call (KEDR_IMPORT_STATIC_CALL). Direct branches go to its
 * stub, KEDR_STUB_SIZE bytes of the code image (int3 in the blob), which the
 * loader writes: a jmp to the function, or on through its dispatch slot
 * once a payload claims it (kedr_payload.h). Stubs lie before the first
 * copy, sorted, disjoint.
 */
struct kedr_blob_import {
	__le32 name;		/* string: the symbol's name */
	__le32 symidx;		/* its (undefined) symbol in the target's .symtab */
	__le32 stub_offset;	/* in the code image */
	__le32 flags;		/* KEDR_IMPORT_* (1.6); 0 before */
};

/*
 * KEDR_IMPORT_ADDRESS_TAKEN (1.6): the target's own data holds the symbol's
 * address (an absolute relocation against it, addend 0, in a .data or
 * .rodata section: an ops table, a function pointer), so the copies may
 * call it through a pointer. Such an import may have no direct call: its
 * stub is written all the same. The loader routes an indirect call of the
 * copies whose destination is the address of such an import through its
 * dispatch slot (kedr_payload.h).
 *
 * KEDR_IMPORT_STATIC_CALL (1.6): the symbol is a static call trampoline
 * (__SCT__*, undefined or in the target's .static_call.text) that the
 * copies call or tail-call; its stub goes to the trampoline, or, when a
 * payload claims an import, to the claimed import's slot if the
 * trampoline's current destination is that import (kedr_routing.c).
 * Readers refuse any other bit.
 */
#define KEDR_IMPORT_ADDRESS_TAKEN	0x1
#define KEDR_IMPORT_STATIC_CALL		0x2
#define KEDR_IMPORT_KNOWN_FLAGS		(KEDR_IMPORT_ADDRESS_TAKEN | \
					 KEDR_IMPORT_STATIC_CALL)

#define KEDR_STUB_SIZE	32

/*
 * A call of the copies to an import's stub (1.4): `call rel32` (e8) ending
 * at ret_offset of the code image, made for the call instruction at
 * orig_offset of function @func's original. A payload's handler finds its
 * caller from its return address with these. Tail calls have none.
 */
struct kedr_blob_call {
	__le32 ret_offset;	/* in the code image, just past the call */
	__le32 func;		/* function (index) whose original makes it */
	__le32 orig_offset;	/* of the call instruction in that original */
	__le32 import;		/* index in the imports table */
};

/*
 * A probe (1.5): `kedr instrument --probe FUNC+OFF`, in the order given (a
 * probe's id is its index). The copy of the instruction at @offset of
 * function @func's original is preceded by
 *	push $site
 *	call KEDR_HELPER_PROBE
 * at @copy_offset, where @site is the index of the first probe at the same
 * place: probes at one instruction share that one call (same func, offset
 * and copy_offset; the first has site == its own index).
 */
struct kedr_blob_probe {
	__le32 func;		/* function (index) whose original holds it */
	__le32 offset;		/* of the instruction in that original */
	__le32 copy_offset;	/* of the `push $site` in the code image */
	__le32 site;		/* index of the first probe at this place */
	__le16 length;		/* of the probed instruction */
	__le16 reserved;
};

/* Bytes of the call sequence: push imm32 (5), call rel32 (5). */
#define KEDR_PROBE_CALL_SIZE	10

#endif /* KEDR_BLOB_H */
