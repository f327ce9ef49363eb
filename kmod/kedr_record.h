/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KEDR trace: the binary stream /sys/kernel/debug/kedr_sample/trace.
 *
 * One definition shared by the recorder (kmod/kedr_sample) and the decoder
 * (Kedr.Output: TraceLayout describes every field, TraceFormat the constants;
 * TraceLayoutTests checks them against this header field by field).
 * Little-endian. The stream is a struct kedr_trace_header followed by
 * records; a reader that sees a larger record_size skips the tail of each
 * record (fields are only ever appended).
 */
#ifndef KEDR_RECORD_H
#define KEDR_RECORD_H

#include "kedr_types.h"

#define KEDR_TRACE_MAGIC	"KEDRTRC1"
#define KEDR_TRACE_VERSION	1
#define KEDR_TRACE_NAME_LEN	56	/* MODULE_NAME_LEN on x86-64 */

struct kedr_trace_header {
	char magic[8];
	__le16 version;
	__le16 header_size;	/* sizeof(struct kedr_trace_header) */
	__le16 record_size;	/* sizeof(struct kedr_record) */
	__le16 reserved;
	char target[KEDR_TRACE_NAME_LEN];	/* NUL-padded module name */
	__le64 target_core_base;	/* where the target's functions were */
};

/*
 * One event. Function events: @pc is the function's original address and
 * @addr 0. Memory events: @pc is the original instruction's address.
 */
struct kedr_record {
	__le64 ts;		/* local_clock() ns: merge key across CPUs */
	__le64 pc;
	__le64 addr;
	__le32 seq;		/* per-CPU sequence number: gaps = dropped, or lost by this stream */
	__le32 tid;		/* task pid (0 for the idle task) */
	__le32 size;		/* bytes accessed (REP string ops can exceed 64 KiB) */
	__le32 site;		/* index in the blob's site table */
	__u8 kind;		/* enum kedr_event_kind (KEDR_EV_READ..., no _READ_WRITE/_STRING) */
	__u8 cpu_low;		/* CPU number, low 8 bits */
	__u8 context;		/* KEDR_CTX_* */
	/*
	 * @addr is inside the kernel stack of the task running (current, the
	 * interrupted one in an interrupt): log2 of that stack's size, which
	 * is also its alignment (THREAD_SIZE, THREAD_ALIGN); 0 if not. Zero in
	 * records of recorders before it (the byte was reserved).
	 */
	__u8 stack_order;
	__u8 flags;		/* KEDR_REC_F_* (0 before them: the byte was reserved) */
	__u8 reserved[3];
};

/*
 * struct kedr_record.flags of memory events, for the race detector
 * (docs/races.md, "Per-CPU data" and "Tasks"). PERCPU: a %gs-relative
 * access (the blob's KEDR_SITE_GS; @addr includes this CPU's GS base): one
 * instruction on this CPU's copy of per-CPU data (this_cpu_*()). OWN_TASK:
 * @addr inside the running task's struct task_struct (current; the
 * interrupted one in an interrupt).
 */
#define KEDR_REC_F_PERCPU	0x1
#define KEDR_REC_F_OWN_TASK	0x2

/*
 * Record kinds (struct kedr_record.kind). 1-5 and 17 are the site kinds of
 * kedr_blob.h (KEDR_EV_ENTRY, _EXIT, _READ, _WRITE, _LOCKED_UPDATE, and
 * _LOCKED_DONE: a locked update again, after its instruction ran). The
 * kinds below are recorded without a site (@site = KEDR_REC_NO_SITE), by the
 * indirect-branch stub or by payloads through kedr_record_event()
 * (kedr_payload.h); @pc is an original address of the target.
 */
#define KEDR_REC_NO_SITE	0xffffffffu
#define KEDR_REC_INDIRECT	8	/* indirect call/jmp: @addr = destination */
#define KEDR_REC_ACQUIRE	9	/* lock taken: @addr = lock, @size = KEDR_SYNC_* */
#define KEDR_REC_RELEASE	10	/* lock released: as ACQUIRE */
#define KEDR_REC_SIGNAL		11	/* happens-before from here: @addr = object */
#define KEDR_REC_WAIT		12	/* ... to here, for the same @addr */
#define KEDR_REC_ALLOC		13	/* @addr = block, @size = bytes */
#define KEDR_REC_FREE		14	/* @addr = block */
#define KEDR_REC_PROBE		15	/* probe hit: @addr = probe id, @size = KEDR_REC_PROBE_REGS that follow */
/*
 * Right after a PROBE record, on its CPU: two registers of the hit in @pc and
 * @addr, @size = the pair's index: rdi rsi, rdx rcx, r8 r9, rax rbx, rbp rsp,
 * r10 r11, r12 r13, r14 r15, flags (and 0).
 */
#define KEDR_REC_PROBE_REGS	16

/* @size of ACQUIRE/RELEASE records. */
#define KEDR_SYNC_EXCLUSIVE	0
#define KEDR_SYNC_SHARED	1

/*
 * @size of SIGNAL records: 0 a hand-off (ordered before the WAITs on @addr,
 * or the entries of the function at @addr); PUBLISH an object made visible
 * to other tasks (an inode put in the icache or the dcache), @addr inside
 * it: the race detector orders the accesses of other threads to the traced
 * allocation holding @addr after it (docs/races.md, "Publication").
 */
#define KEDR_SIGNAL_HANDOFF	0
#define KEDR_SIGNAL_PUBLISH	1

/*
 * @size of WAIT records: 0 a wait on the SIGNALs on @addr; CALLBACK_END a
 * wait for the end of the runs of the callback at @addr (the target's
 * function a work item or a timer holds), recorded once a call such as
 * cancel_work_sync() returned: the race detector orders it after every
 * return of that function's runs from the kernel before it
 * (docs/races.md, "Hand-off to a callback").
 */
#define KEDR_WAIT_HANDOFF	0
#define KEDR_WAIT_CALLBACK_END	1

/*
 * A `kedr record` file (written in user space only; docs/record-format.md):
 * a trace whose header_size also covers a struct kedr_record_file and
 * nr_cpus struct kedr_record_cpu right after struct kedr_trace_header, so a
 * trace reader that knows nothing of them skips them. The records follow:
 * every CPU's in its own order, the CPUs' chunks interleaved. After the
 * records, at funcs_offset: struct kedr_record_funcs, its entries and their
 * names (too many for header_size's 16 bits). Version 2 of the file
 * ("KEDRREC1", version 1, had a 40-byte struct kedr_record_file without
 * funcs_offset, and no function table).
 */
#define KEDR_RECORD_FILE_MAGIC	"KEDRREC2"
#define KEDR_RECORD_ENDED	1	/* every CPU's stream reached its end */
#define KEDR_RECORD_INTERRUPTED	2	/* stopped by the user (SIGINT) */

struct kedr_record_file {
	char magic[8];
	__le32 nr_cpus;		/* struct kedr_record_cpu entries that follow */
	__le32 flags;		/* KEDR_RECORD_* */
	__le64 written;		/* records in this file */
	__le64 recorded;	/* events kedr_sample recorded, all CPUs, at the end */
	__le64 dropped;		/* events kedr_sample dropped, all CPUs, at the end */
	__le64 funcs_offset;	/* file offset of struct kedr_record_funcs: the records end there */
};

/* One CPU of a record file, the n-th entry for CPU n. */
struct kedr_record_cpu {
	__le64 written;		/* records of this CPU in the file */
	__le64 recorded;	/* kedr_sample's counts at the end ("stats") */
	__le64 dropped;
};

/*
 * Events dropped per function of the target (kedr_sample's
 * dropped_functions at the end): nr_funcs struct kedr_record_func follow,
 * then names_size bytes of NUL-terminated names. Drops without a function
 * (nested events, events without a site: indirect branches, payloads) are
 * the file's dropped less the sum of the entries.
 */
#define KEDR_RECORD_FUNCS_MAGIC	"KEDRFUN1"

struct kedr_record_funcs {
	char magic[8];
	__le32 nr_funcs;	/* struct kedr_record_func entries that follow */
	__le32 names_size;	/* bytes of names after the entries */
};

struct kedr_record_func {
	__le64 dropped;		/* events of this function dropped */
	__le32 symidx;		/* the function's index in the .ko's .symtab */
	__le32 name;		/* offset of its NUL-terminated name in the names */
};

#define KEDR_CTX_TASK	0
#define KEDR_CTX_SOFTIRQ	1
#define KEDR_CTX_HARDIRQ	2
#define KEDR_CTX_NMI	3

#endif /* KEDR_RECORD_H */
