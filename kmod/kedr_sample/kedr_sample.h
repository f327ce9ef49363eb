/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_sample: declarations shared by the parts of the loader.
 *
 * kedr_blob.c      loads a blob with request_firmware() and validates it into
 *                  struct kedr_blob (native, aligned copies of the tables)
 * kedr_attach.c    checks a blob against a live module and redirects the
 *                  module's functions to their copies in kedr_area
 * kedr_events.c    the C side of the helpers the copies call
 * kedr_string_events.c  the same for string and bit-op instructions
 * kedr_recorder.c  keeps the events and shows them in debugfs
 * kedr_helpers.S   the helpers themselves
 * kedr_area.S      the code area the copies live in
 * kedr_main.c      parameters, init/exit, the module notifier
 */
#ifndef KEDR_SAMPLE_H
#define KEDR_SAMPLE_H

#include <linux/types.h>

#include "kedr_area.h"

struct module;

/* One instrumented function (struct kedr_blob_func, validated). */
struct kedr_func {
	const char *name;
	u32 symidx;
	u32 size;
	u32 copy_offset;
	u32 copy_size;
	u32 mask_first;
	u32 mask_count;
	u32 flags;
	u32 owner;
	u64 digest;
};

struct kedr_mask {
	u32 offset;
	u32 length;
};

struct kedr_fixup {
	u32 offset;
	u8 type;
	u8 target;
	u32 index;
	s64 addend;
};

struct kedr_site {
	u32 func;
	u32 offset;
	u8 kind;
	u8 flags;
	u16 size;
};

struct kedr_patch {
	u32 copy_offset;
	u32 func;
	u32 orig_offset;
	u16 length;
	u16 slot_length;
	u8 kind;
	u32 target_copy_offset;
};

/*
 * A validated blob: every index, offset and range in it has been checked
 * against the tables and the code image, so the users need not check again.
 */
struct kedr_blob {
	const char *target_name;
	const char *target_srcversion;
	u32 target_num_symtab;
	u32 code_align;

	u32 nr_funcs;
	u32 nr_masks;
	u32 nr_fixups;
	u32 nr_sites;
	u32 nr_patches;
	u32 code_size;
	u32 strings_size;
	u32 max_func_size;

	struct kedr_func *funcs;
	struct kedr_mask *masks;
	struct kedr_fixup *fixups;
	struct kedr_site *sites;
	struct kedr_patch *patches;
	u8 *code;
	char *strings;
};

/* kedr_blob.c */
int kedr_blob_load(const char *fw_name, const char *target_name,
		   struct kedr_blob **out);
void kedr_blob_free(struct kedr_blob *blob);

/* kedr_attach.c */
struct kedr_attachment;
int kedr_attach(struct module *mod, const struct kedr_blob *blob,
		struct kedr_attachment **out);
void kedr_detach(struct kedr_attachment *att);

/* kedr_events.c */
void kedr_events_start(const struct kedr_blob *blob,
		       const unsigned long *func_addr);
void kedr_events_stop(void);
/* What the helpers call. */
void kedr_on_func_event(u32 site);
void kedr_on_mem_event(u32 site, unsigned long addr);
/* For the handlers in other files: see kedr_events.c. */
bool kedr_events_enter(const struct kedr_blob **blob,
		       const unsigned long **func_addr);
void kedr_events_leave(void);

/* kedr_string_events.c: what the string and bit-op helpers call */
void kedr_on_string_event(u32 site, unsigned long src_start,
			  unsigned long src_end, unsigned long dst_start,
			  unsigned long dst_end, unsigned long eflags);
void kedr_on_bitop_event(u32 site, unsigned long base, unsigned long offset);

/* kedr_helpers.S: entered as "push $site; call helper", return "ret $8" */
void kedr_helper_func_event(void);
void kedr_helper_mem_event(void);
void kedr_helper_string_event(void);
void kedr_helper_bitop_event(void);

/*
 * kedr_recorder.c: per-CPU event rings and debugfs output, trace, stats.
 * kedr_record() and kedr_record_lost() may be called in any context (NMI
 * included); the tid, CPU, context and timestamp are taken inside.
 */
int kedr_recorder_init(const struct kedr_blob *blob, unsigned int nr_records);
void kedr_recorder_exit(void);
void kedr_recorder_start(void);
void kedr_recorder_stop(void);
void kedr_record(u8 kind, u32 site, unsigned long pc, unsigned long addr,
		 u32 size);
void kedr_record_lost(void);

/* kedr_main.c */
extern bool kedr_process_sp_accesses;

#endif /* KEDR_SAMPLE_H */
