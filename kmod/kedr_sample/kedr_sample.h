/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_sample: declarations shared by the parts of the loader.
 *
 * kedr_blob.c      loads a blob with request_firmware() and validates it into
 *                  struct kedr_blob (native, aligned copies of the tables)
 * kedr_attach.c    attaches a blob to a live module (checks, then the copies
 *                  in kedr_area and the originals redirected to them), drops
 *                  the init copies at LIVE, retires the copies at GOING; its
 *                  checks are in kedr_attach_check.c, the bytes it writes in
 *                  kedr_attach_patch.c (kedr_attach.h, private to the three);
 *                  attaching to a running module also uses kedr_live_syms.c
 *                  (symbol values from its .ko), kedr_kprobes.c (entries
 *                  where ftrace cannot) and kedr_quiesce.c (detach: is any
 *                  task inside a copy)
 * kedr_events.c    the C side of the helpers the copies call
 * kedr_string_events.c  the same for string and bit-op instructions
 * kedr_recorder.c  keeps the events and shows them in debugfs (merged
 *                  streams, per-CPU raw streams, stats, drops per function);
 *                  its ring writer is in kedr_ring.h, which the memory and
 *                  function handlers inline
 * kedr_filter.c    filters at the source (debugfs "filter"); kedr_jumps.c
 *                  has the copies jump over the calls of sites left out
 * kedr_probes.c    probes: debugfs "probes", handlers (kedr_probe.h); the
 *                  helper is in kedr_probe_asm.S
 * kedr_helpers.S   the helpers themselves
 * kedr_area.S      the code area the copies live in
 * kedr_main.c      parameters, init/exit, the module notifier
 */
#ifndef KEDR_SAMPLE_H
#define KEDR_SAMPLE_H

#include <linux/atomic.h>
#include <linux/jump_label.h>
#include <linux/percpu.h>
#include <linux/types.h>

#include "kedr_area.h"
#include "kedr_blob.h"

struct module;

/*
 * The first index in [0, @n) whose key is not below @key, in an array
 * sorted by key: @key_at is the key at index @i (an expression of @i). Not
 * lib/bsearch.c: the callers run notrace, in int3 notifiers, with
 * interrupts off or from NMIs, where a traceable function must not be
 * called.
 */
#define kedr_lower_bound(n, i, key_at, key) ({				\
	u32 __lo = 0, __hi = (n);					\
									\
	while (__lo < __hi) {						\
		u32 i = __lo + (__hi - __lo) / 2;			\
									\
		if ((key_at) < (key))					\
			__lo = i + 1;					\
		else							\
			__hi = i;					\
	}								\
	__lo;								\
})

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

/*
 * A helper call, `push $site; call helper`: its fixup field is this far past
 * the push, and with KEDR_BLOB_CALL_ORC it adds this many ORC entries.
 */
#define KEDR_CALL_FIELD		6
#define KEDR_CALL_ORCS		2

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

/* Blob 1.1 tables (struct kedr_blob_extable, _bug, _orc), validated. */
struct kedr_extable {
	u32 insn_copy;
	u32 fixup_copy;		/* or KEDR_NO_COPY: fixup_symidx + addend */
	u32 fixup_symidx;
	u32 data;
	s64 fixup_addend;
};

struct kedr_bug {
	u32 copy_offset;
	u32 file_symidx;
	s64 file_addend;
	u16 line;
	u16 flags;
};

struct kedr_orc {
	u32 copy_offset;
	u8 entry[6];
};

/* Blob 1.4: a kernel function the copies call through a stub. */
struct kedr_import {
	const char *name;
	u32 symidx;
	u32 stub_offset;
	u32 flags;		/* KEDR_IMPORT_* (1.6) */
};

/* Blob 1.4: a call of the copies to a stub (struct kedr_blob_call). */
struct kedr_call {
	u32 ret_offset;
	u32 func;
	u32 orig_offset;
	u32 import;
};

/* Blob 1.5: a probe (struct kedr_blob_probe); its id is its index. */
struct kedr_probe_site {
	u32 func;
	u32 offset;
	u32 copy_offset;
	u32 site;
	u16 length;
};

/*
 * A validated blob: every index, offset and range in it has been checked
 * against the tables and the code image, so the users need not check again.
 */
struct kedr_blob {
	const char *target_name;
	const char *target_srcversion;
	u32 target_num_symtab;
	u32 target_build_id_len;	/* 0: the .ko had none */
	u8 target_build_id[KEDR_BUILD_ID_MAX];
	u32 code_align;
	u32 flags;		/* KEDR_BLOB_*: digests, helper-call ORC */
	u32 nr_call_orcs;	/* ORC entries the helper calls add */

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

	/* Blob 1.1; empty in a 1.0 blob. */
	u32 nr_extable;
	u32 nr_bugs;
	u32 nr_orcs;
	struct kedr_extable *extable;
	struct kedr_bug *bugs;
	struct kedr_orc *orcs;

	/* Blob 1.4; empty in older blobs (no interception). */
	u32 nr_imports;
	u32 nr_calls;
	struct kedr_import *imports;
	struct kedr_call *calls;	/* sorted by ret_offset */

	/* Blob 1.5; empty in older blobs. */
	u32 nr_probes;
	struct kedr_probe_site *probes;
};

/* kedr_blob.c */
int kedr_blob_load(const char *fw_name, const char *target_name,
		   struct kedr_blob **out);
void kedr_blob_free(struct kedr_blob *blob);

/* kedr_insn.c: length of the x86-64 instruction at @p, or -EINVAL. */
int kedr_insn_len(const u8 *p, unsigned int avail);

/* kedr_attach.c (internals: kedr_attach.h) */
struct kedr_attachment;
int kedr_attach(struct module *mod, const struct kedr_blob *blob,
		const char *live_ko, struct kedr_attachment **out);
void kedr_attach_live(struct kedr_attachment *att);
void kedr_detach(struct kedr_attachment *att);
/* Detach from a module that keeps running: 0, or -EBUSY (try again). */
int kedr_detach_running(struct kedr_attachment *att, unsigned int timeout_ms);
bool kedr_attached_live(const struct kedr_attachment *att);

/* kedr_events.c */
int kedr_events_init(const struct kedr_blob *blob);
void kedr_events_exit(void);
void kedr_events_start(const struct kedr_blob *blob,
		       const unsigned long *func_addr);
void kedr_events_stop(void);
/* What the helpers call. */
void kedr_on_func_event(u32 site, unsigned long caller_flags);
void kedr_on_mem_event(u32 site, unsigned long addr,
		       unsigned long caller_flags);
/* For the handlers in other files: see kedr_events.c. */
bool kedr_events_enter(const struct kedr_blob **blob,
		       const unsigned long **func_addr);
void kedr_events_leave(void);

/* kedr_string_events.c: what the string and bit-op helpers call */
void kedr_on_string_event(u32 site, unsigned long src_start,
			  unsigned long src_end, unsigned long dst_start,
			  unsigned long dst_end, unsigned long eflags);
void kedr_on_bitop_event(u32 site, unsigned long base, unsigned long offset,
			 unsigned long caller_flags);

/* kedr_helpers.S: entered as "push $site; call helper", return "ret $8" */
void kedr_helper_func_event(void);
void kedr_helper_mem_event(void);
void kedr_helper_string_event(void);
void kedr_helper_bitop_event(void);
void kedr_helper_mem_event_noflags(void);

/*
 * kedr_indirect_asm.S: entered by a jmp from an indirect branch's stub
 * (kedr_indirect.c), "push $index" on top; they call kedr_on_indirect().
 */
void kedr_indirect_rax(void);
void kedr_indirect_rcx(void);
void kedr_indirect_rdx(void);
void kedr_indirect_rbx(void);
void kedr_indirect_rbp(void);
void kedr_indirect_rsi(void);
void kedr_indirect_rdi(void);
void kedr_indirect_r8(void);
void kedr_indirect_r9(void);
void kedr_indirect_r10(void);
void kedr_indirect_r11(void);
void kedr_indirect_r12(void);
void kedr_indirect_r13(void);
void kedr_indirect_r14(void);
void kedr_indirect_r15(void);
void kedr_on_indirect(u32 index, unsigned long dest, unsigned long *to);
/* And the static call stubs' slow way (kedr_routing.c). */
void kedr_static_call_slow(void);
unsigned long kedr_on_static_call(unsigned long tramp);

/*
 * kedr_recorder.c: per-CPU event rings and debugfs output, trace, stats.
 * kedr_record() and kedr_record_lost() may be called in any context (NMI
 * included); the tid, CPU, context and timestamp are taken inside.
 */
int kedr_recorder_init(const struct kedr_blob *blob, unsigned int nr_records,
		       unsigned int max_records);
void kedr_recorder_exit(void);
void kedr_recorder_start(void);
void kedr_recorder_stop(void);
/* From kedr_attach.c / kedr_main.c: where the target is, or that it is not. */
void kedr_recorder_target(unsigned long core_base);
void kedr_recorder_unattached(void);
void kedr_record_flags(u8 kind, u32 site, unsigned long pc,
		       unsigned long addr, u32 size, u8 rec_flags);
/* @rec_flags: KEDR_REC_F_PERCPU or 0 (OWN_TASK is found inside). */
static __always_inline void kedr_record(u8 kind, u32 site, unsigned long pc,
					unsigned long addr, u32 size)
{
	kedr_record_flags(kind, site, pc, addr, size, 0);
}
/* The same with interrupts off (the string and bit-op handlers). */
void kedr_record_irqs_off(u8 kind, u32 site, unsigned long pc,
			  unsigned long addr, u32 size);
void kedr_record_lost(unsigned int n);
/*
 * For the helpers' handlers, on entry, interrupts off: if this CPU's ring is
 * nearly full for kedr record, wait for room (wait_ms in kedr_recorder.c).
 */
DECLARE_PER_CPU(u8, kedr_room_wanted);
void kedr_record_wait(unsigned long caller_flags);

static __always_inline void kedr_record_room(unsigned long caller_flags)
{
	if (unlikely(this_cpu_read(kedr_room_wanted)))
		kedr_record_wait(caller_flags);
}

/*
 * kedr_import_stubs.c: debugfs "imports" (each import stub: where its
 * first jmp goes, who claimed it), added after the recorder's init, removed
 * before its exit.
 */
void kedr_intercept_debugfs_init(void);
void kedr_intercept_debugfs_exit(void);

/*
 * kedr_probes.c: probes (kedr_probe.h). kedr_probes_init() after the
 * recorder's (it adds debugfs "probes"), kedr_probes_exit() once no copy
 * can run.
 */
#define KEDR_PROBES_MAX		256
#define KEDR_PROBE_REG_RECORDS	9	/* KEDR_REC_PROBE_REGS per hit */
struct kedr_record;
struct pt_regs;
extern u8 kedr_probe_armed[KEDR_PROBES_MAX];
int kedr_probes_init(const struct kedr_blob *blob, bool enabled);
void kedr_probes_exit(void);
/* From kedr_events_start() and _stop(): where the probes are, or not. */
void kedr_probes_attach(const unsigned long *func_addr);
void kedr_probes_detach(void);
void kedr_on_probe(u32 site, struct pt_regs *regs);
size_t kedr_probe_format(char *buf, size_t size, const struct kedr_record *r);
/* kedr_probe_asm.S */
void kedr_helper_probe(void);

/*
 * kedr_filter.c: filters at the source (debugfs "filter"). kedr_record()
 * keeps an event only if kedr_filter_check() says so, once a filter was
 * set (kedr_filter_set); interrupts off.
 */
struct dentry;
DECLARE_STATIC_KEY_FALSE(kedr_filter_set);
bool kedr_filter_check(u8 kind, u32 site, unsigned long addr);
/* Events left out by the filter, per CPU (stats); kedr_helpers.S adds too. */
void kedr_filter_count_out(void);
u64 kedr_filtered_on(int cpu);
int kedr_filter_param_store(bool *p, bool val);
struct dentry *kedr_filter_init(const struct kedr_blob *blob,
				struct dentry *dir);
void kedr_filter_exit(void);
/* kedr_filter_mutex, for kedr_jumps.c; and the sites to jump over (held). */
void kedr_filter_lock(void);
void kedr_filter_unlock(void);
unsigned long *kedr_filter_jump_sites(void);

/*
 * kedr_jumps.c: the copies jump over the event calls of sites whose events
 * are all left out. Prepared at attach (may fail, changes nothing),
 * published with the copies before they run, updated when the settings
 * change (under kedr_filter_lock(); fails with nothing changed), the init
 * copies' calls dropped at LIVE, stopped before the copies are retired.
 */
struct kedr_jumps;
struct kedr_alias;
int kedr_jumps_prepare(const struct kedr_blob *b, unsigned long place,
		       struct kedr_jumps **out);
void kedr_jumps_free(struct kedr_jumps *j);
void kedr_jumps_publish(struct kedr_jumps *j, const struct kedr_alias *area);
int kedr_jumps_update(const unsigned long *want);
void kedr_jumps_drop_init(void);
void kedr_jumps_stop(void);

/*
 * kedr_tables.c: exception table, bug table, ORC and symbol names for the
 * copies, merged with kedr_sample's own and installed in THIS_MODULE.
 * kedr_tables_init() moves our own tables into the reserves at our init,
 * kedr_tables_prepare() computes everything (may fail, changes nothing),
 * kedr_tables_install() publishes it (cannot fail),
 * kedr_tables_drop_init() takes the names of init copies out at LIVE,
 * kedr_tables_remove() restores kedr_sample's own tables.
 */
/* A writable alias of [start, start + len) of vmalloc/module memory. */
struct kedr_alias {
	unsigned long start;
	void *map;
};

int kedr_alias_map(struct kedr_alias *a, unsigned long start, unsigned long len);
void kedr_alias_unmap(struct kedr_alias *a);
/* Where @addr of the aliased range is in the alias. */
u8 *kedr_alias(const struct kedr_alias *a, unsigned long addr);

struct kedr_tables;
int kedr_tables_init(const struct kedr_blob *b);
int kedr_tables_prepare(struct module *mod, const struct kedr_blob *blob,
			const unsigned long *func_addr,
			const unsigned long *symval, unsigned long place,
			struct kedr_tables **out);
void kedr_tables_install(struct kedr_tables *t);
void kedr_tables_drop_init(struct kedr_tables *t);
void kedr_tables_remove(struct kedr_tables *t);

/*
 * kedr_ftrace.c: functions with an fentry site are sent to their copies by
 * an IPMODIFY ftrace_ops (as livepatch does), so ftrace keeps owning the
 * site and other tracers can share it.
 */
struct kedr_ftrace;
/* The fentry site of the function at @addr, 0 if it has none. */
unsigned long kedr_ftrace_site(struct module *mod, unsigned long addr);
int kedr_ftrace_start(unsigned int n, const unsigned long *ips,
		      const unsigned long *dests, const bool *init,
		      struct kedr_ftrace **out);
void kedr_ftrace_drop_init(struct kedr_ftrace *f);
int kedr_ftrace_stop(struct kedr_ftrace *f);

/* kedr_main.c */
/*
 * Objects kept for an attachment (the attachment, its tables, kallsyms
 * copies, ftrace_ops, writable aliases), counted as they are allocated and
 * freed: back to 0 whenever nothing is attached (parameter live_objects).
 */
extern atomic_t kedr_live_objects;

static inline void kedr_obj_new(void)
{
	atomic_inc(&kedr_live_objects);
}

static inline void kedr_obj_gone(void)
{
	atomic_dec(&kedr_live_objects);
}

extern bool kedr_process_sp_accesses;
extern bool kedr_jump_left_out;
extern bool kedr_entry_via_ftrace;
extern unsigned int kedr_stack_events;
extern unsigned int kedr_tables_delay_ms;
extern unsigned int kedr_restore_delay_ms;
#define KEDR_MAX_WAIT_MS	1500U
extern unsigned int kedr_wait_ms;

#endif /* KEDR_SAMPLE_H */
