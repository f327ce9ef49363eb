// SPDX-License-Identifier: GPL-2.0
/*
 * The recorder: per-CPU event buffers and the debugfs files that drain them.
 *
 * Writing (kedr_record(), any context, NMI included; the memory and function
 * handlers write inline, kedr_ring.h): each CPU has its own
 * ring of struct kedr_record (kedr_record.h) of nr_records entries. Only that
 * CPU writes to it, with interrupts off and a per-CPU guard, so no lock and
 * no atomic instruction shared between CPUs is on the hot path. Every event
 * takes the CPU's next sequence number; it is either recorded or counted as
 * dropped. recorded + dropped == sequence numbers issued, exactly, per CPU,
 * and == the events the copies executed (a handler that cannot record, e.g.
 * nested in an NMI, counts every event it would have given).
 *
 * Reading: two streams, each with its own cursor in every CPU's ring:
 *	output	text, the seed's format, merged across CPUs by timestamp
 *		(the smallest of the CPUs' next records, so each CPU's order
 *		is kept; sync records: kedr_sync_stamp()), then one line "events: N recorded, M dropped" at its end
 *	trace	binary: struct kedr_trace_header, then the records, merged
 *		the same way
 * Both are consuming (like trace_pipe): what one open file has read, the
 * next read of that stream does not see again.
 *
 * Who waits for whom. Until a stream is first opened, a CPU keeps its first
 * nr_records events and drops (counts) the rest, so that a reader opened
 * after a short run sees it from the start. Once streams have been opened,
 * a full ring waits for the streams that are reading: it drops (counts)
 * new events rather than overwrite records such a stream has not read, so
 * a reader that keeps reading gets exactly what was recorded. A stream
 * that stops reading (no read for KEDR_STALL_MS, e.g. a file held open and
 * never read, or a reader blocked on a full pipe) no longer holds the rings
 * back: the writers overwrite the oldest records for it (as ftrace's
 * overwrite mode does), so it cannot make the others drop. When it reads
 * again it skips what it lost and is told: output prints "lost: N events
 * (overwritten before this stream read them)" where it happened and adds
 * ", L lost by this stream" to its last line; trace shows it as gaps in
 * the per-CPU sequence numbers. For each stream, read + lost == recorded.
 * A stream opened later starts at the oldest record still kept.
 *
 * Waiting for kedr record (parameter wait_ms). While per_cpu/cpuN/ files
 * are open, a CPU whose ring is nearly full for the streams that read makes
 * the code it records wait for room instead of dropping, if that code could
 * be preempted where it is (interrupts on, preempt_count 0, outside a
 * user-access region; a PREEMPT_DYNAMIC kernel may preempt it there anyway):
 * the helpers' handlers, on entry and before they take anything, wait in
 * kedr_record_wait() with interrupts on, and let the scheduler run whatever
 * asks for this CPU, the reader included. Code that cannot be preempted
 * (spinlocks, softirqs, interrupts off: it must not hold other CPUs up), the
 * reader's own threads (target code they run would wait for themselves) and
 * the other callers of kedr_record() do not wait: they use the ring's last
 * eighth (past kedr_room_limit), kept for them, and only what does not fit
 * there is dropped. A wait that lasts wait_ms gives up: this CPU then waits
 * no more until the streams have read again, so a reader that stopped costs
 * one wait, not one per event. wait_ms stays below KEDR_STALL_MS: a reader
 * waited for is not taken for a stalled one. A reader drained this way gets
 * every event even when it is starved for a while (a busy host under a
 * guest).
 *
 * A read blocks while there is nothing to read and the stream has not
 * ended (O_NONBLOCK: -EAGAIN; a signal interrupts it). The stream ends
 * (EOF, after the summary line for output) once a target has come and gone
 * (or loaded without being instrumented), none is attached and this stream
 * has read everything: `cat output &` started right after insmod waits for
 * the target, follows it and ends after it is gone. A reader gets all
 * events of a target that went away, until kedr_sample is removed. Names
 * come from the blob, which stays in memory until then. Removing
 * kedr_sample (only rmmod -f can while a file is open) ends every read at
 * once and waits for the files to be closed (and the rings' mappings, which
 * hold their files, to be unmapped).
 *
 * Memory: the rings are limited to a quarter of RAM in all, and their pages
 * are allocated with __GFP_NORETRY: too large a nr_records fails insmod
 * with -ENOMEM and one line saying why, never the OOM killer.
 *
 * stats: "# streams: waiting for the target" (or "target attached", or
 * "target gone, ending when read"), then per CPU, events recorded and
 * dropped, the ring's size, events the filter left out (kedr_filter.c), and
 * the ms the recorded code spent waiting for room.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/irqflags.h>
#include <linux/jiffies.h>
#include <linux/jump_label.h>
#include <linux/kallsyms.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mm_types.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/task_stack.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <asm/processor-flags.h>

#include "kedr_blob.h"
#include "kedr_raw.h"
#include "kedr_record.h"
#include "kedr_ring.h"
#include "kedr_sample.h"

DEFINE_PER_CPU(struct kedr_cpu_buf, kedr_bufs);
/*
 * This CPU's ring is nearly full for a raw reader: the handlers call
 * kedr_record_wait() on entry (one per-CPU byte read on the hot path).
 */
DEFINE_PER_CPU(u8, kedr_room_wanted);
unsigned int kedr_rec_cap;
/*
 * Records kept for what cannot wait: cap / 8, at least what a few handler
 * entries write after one look at kedr_room_wanted (a read-write site gives
 * two records, a string site three), if the ring has room for that twice.
 */
#define KEDR_MIN_MARGIN	16
/* Unread records past which the handlers wait: kedr_rec_cap - the margin. */
unsigned int kedr_room_limit;
/* per_cpu/cpuN/raw files open: writers may wait for room. */
static atomic_t kedr_raw_readers = ATOMIC_INIT(0);
/* The process that last opened one: its threads never wait. */
static pid_t kedr_reader_tgid;
static const struct kedr_blob *kedr_rec_blob;
static struct dentry *kedr_debugfs_dir;

/* Readers: cursors, subscriptions and lost counts. */
static DEFINE_MUTEX(kedr_read_mutex);
/* Bit per stream opened at least once; set under kedr_read_mutex. */
unsigned long kedr_subscribed;
/*
 * jiffies when each stream last read (or found nothing to read): a stream
 * that has not read for this long no longer holds the writers back.
 */
#define KEDR_STALL_MS	2000
static_assert(KEDR_MAX_WAIT_MS < KEDR_STALL_MS);
static unsigned long kedr_read_at[KEDR_NR_STREAMS];
/* Per stream, under kedr_read_mutex: lost and not yet told, lost in all. */
static u64 kedr_lost_pending[KEDR_NR_STREAMS];
static u64 kedr_lost_total[KEDR_NR_STREAMS];
static DECLARE_WAIT_QUEUE_HEAD(kedr_read_wq);
/* A target is attached: events may still come, a read waits for them. */
static bool kedr_rec_live;
/* A target has come and gone, or loaded uninstrumented: streams may end. */
static bool kedr_rec_seen;
/* kedr_sample is going away: every read ends now. */
static bool kedr_rec_closing;
static atomic_t kedr_open_files = ATOMIC_INIT(0);
static unsigned long kedr_core_base;	/* of the last target attached */

/* Records written on @cb's CPU: they are complete (the writer's release). */
static __always_inline u64 kedr_head(struct kedr_cpu_buf *cb)
{
	/* Pairs with the writer's smp_store_release() of head. */
	return smp_load_acquire(&cb->head);
}

/*
 * The oldest position a stream that is reading has not read yet: the writer
 * may not overwrite it. 0 while no stream has been opened (keep the first
 * events); @head (overwrite freely) if every stream opened has stalled.
 * The tails are read before the subscriptions: a stream's starting tail is
 * seen together with its subscription (see kedr_subscribe()). With @lb, the
 * writer's (busy held): *@lb gets the least tail of every subscribed stream,
 * stalled or not (0 if none), and *@subs the subscriptions it was taken
 * for, kedr_ring_room()'s lower bound of the floor.
 */
static __always_inline u64 kedr_floor(struct kedr_cpu_buf *cb, u64 head,
				      u64 *lb, unsigned long *lb_subs)
{
	u64 tails[KEDR_NR_STREAMS], floor = head, least = head;
	unsigned long subs, stall = msecs_to_jiffies(KEDR_STALL_MS);
	int i;

	for (i = 0; i < KEDR_NR_STREAMS; i++)
		/* Pairs with the readers' release: done with the slots. */
		tails[i] = smp_load_acquire(&cb->tail[i]);
	/* Pairs with kedr_subscribe(): a new stream's tail is set. */
	subs = smp_load_acquire(&kedr_subscribed);
	if (lb) {
		*lb_subs = subs;
		*lb = 0;
	}
	if (!subs)
		return 0;
	for (i = 0; i < KEDR_NR_STREAMS; i++) {
		if (!(subs & BIT(i)))
			continue;
		least = min(least, tails[i]);
		if (tails[i] < floor &&
		    time_before(jiffies, READ_ONCE(kedr_read_at[i]) + stall))
			floor = tails[i];
	}
	if (lb)
		*lb = least;
	return floor;
}

/*
 * Drops per function of the blob (a cold part counts as its function), for
 * dropped_functions: shared between CPUs, touched only when dropping.
 */
static atomic_long_t *kedr_func_drops;

static __always_inline void kedr_count_drop(u32 site)
{
	const struct kedr_blob *b = kedr_rec_blob;

	if (kedr_func_drops && site < b->nr_sites)
		atomic_long_inc(&kedr_func_drops[b->funcs[b->sites[site].func].owner]);
}

/*
 * Sync records (ACQUIRE, RELEASE, SIGNAL, WAIT, ALLOC, FREE, LOCKED_UPDATE,
 * recorded before its instruction runs, and LOCKED_DONE, the same
 * instruction once it has run: the race detector's release and acquire of
 * the address) are stamped
 * from one clock all CPUs share: max(local_clock(), the last sync stamp +
 * 1). local_clock() of two CPUs may disagree by more than a lock hand-off
 * takes (vCPUs under TCG do), so a RELEASE on one CPU could carry a later
 * stamp than the ACQUIRE it enabled on another. With this clock a sync
 * record taken after another one (the payloads record an ACQUIRE after the
 * lock is taken, a RELEASE before it is released) has a larger stamp, and
 * every record a CPU wrote before a sync record has a stamp no larger
 * than it. So a merge that takes, among the CPUs' next records, the one
 * with the smallest stamp (kedr_next_cpu(), Kedr.Output's TraceMerge)
 * keeps each CPU's order and puts every sync record after the sync records
 * that happened before it. Reads, writes and function events keep
 * local_clock(): the shared cache line is touched by sync records only.
 */
static atomic64_t kedr_sync_clock = ATOMIC64_INIT(0);

noinline u64 notrace kedr_sync_stamp(u64 now)
{
	s64 last = atomic64_read(&kedr_sync_clock);
	s64 next;

	do {
		next = (s64)now > last ? (s64)now : last + 1;
	} while (!atomic64_try_cmpxchg(&kedr_sync_clock, &last, next));
	return next;
}

/* Writers wait for room only while kedr record (a raw reader) drains. */
static __always_inline bool kedr_may_wait(void)
{
	return atomic_read(&kedr_raw_readers) && READ_ONCE(kedr_wait_ms) &&
	       !READ_ONCE(kedr_rec_closing);
}

/*
 * After this record the ring will hold @used records the streams that read
 * have not read: ask the handlers to wait for room once only the margin is
 * left (unless a wait gave up at this floor: the readers have not read
 * since). Only kedr_record_wait() clears the request, so below the limit
 * this is one compare. Interrupts off.
 */
static __always_inline void kedr_want_room(struct kedr_cpu_buf *cb, u64 used,
					   u64 floor)
{
	if (unlikely(used > kedr_room_limit) && floor != cb->gave_up_floor &&
	    kedr_may_wait())
		__this_cpu_write(kedr_room_wanted, true);
}

/*
 * A handler's entry with this CPU's kedr_room_wanted set, interrupts off
 * (the helper's cli), nothing taken yet; @caller_flags: the flags of the
 * code the helper interrupted. If that code could be preempted, waits for
 * the streams that read to leave more than the margin free (see the top),
 * for up to wait_ms; returns with interrupts off, maybe on another CPU.
 * Clears the request once there is room (whoever comes) or a wait gave up.
 */
void notrace kedr_record_wait(unsigned long caller_flags)
{
	u64 limit = (u64)min(READ_ONCE(kedr_wait_ms), KEDR_MAX_WAIT_MS) *
		    NSEC_PER_MSEC;
	int cpu = smp_processor_id();
	bool may_wait, room, timed_out = false;
	u64 start = 0, head, floor;
	struct kedr_cpu_buf *cb;

	/* The helper turned interrupts off, nothing else: the caller's count. */
	may_wait = (caller_flags & X86_EFLAGS_IF) &&
		   !(caller_flags & X86_EFLAGS_AC) && !preempt_count() &&
		   current->tgid != READ_ONCE(kedr_reader_tgid);
	/* One clock for all CPUs: the task may move. */
	if (may_wait)
		start = ktime_get_mono_fast_ns();
	for (;;) {
		cb = this_cpu_ptr(&kedr_bufs);
		head = cb->head;
		floor = kedr_floor(cb, head, NULL, NULL);
		room = !cb->recs || !kedr_may_wait() ||
		       head - floor <= kedr_room_limit;
		/* Moved: the next entry on this CPU looks at its own ring. */
		if (room || !may_wait || smp_processor_id() != cpu)
			break;
		if (ktime_get_mono_fast_ns() - start >= limit) {
			timed_out = true;
			break;
		}
		raw_local_irq_enable();
		if (need_resched())
			preempt_schedule();
		else
			cpu_relax();
		raw_local_irq_disable();
	}
	if (may_wait)
		WRITE_ONCE(cb->waited_ns,
			   cb->waited_ns + ktime_get_mono_fast_ns() - start);
	if (timed_out) {
		/* Told by the raw reader (kedr_raw_tell_drops()). */
		cb->gave_up_floor = floor;
		WRITE_ONCE(cb->gave_up, cb->gave_up + 1);
	}
	if (room || timed_out)
		__this_cpu_write(kedr_room_wanted, false);
}

/*
 * kedr_ring_room()'s exact way: the floor, and the request to wait for room
 * (kedr_want_room()); refreshes the lower bound. Busy held.
 */
bool notrace kedr_ring_room_slow(struct kedr_cpu_buf *cb, u64 head)
{
	u64 floor, lb;
	unsigned long subs;

	floor = kedr_floor(cb, head, &lb, &subs);
	kedr_want_room(cb, head + 1 - floor, floor);
	if (unlikely(!cb->recs))
		return false;
	cb->floor_lb = lb;
	cb->floor_subs = subs;
	return head - floor < kedr_rec_cap;
}

/* kedr_ring_record() could not record its event: dropped. Busy held. */
void notrace kedr_ring_drop(u32 site)
{
	this_cpu_inc(kedr_bufs.dropped);
	kedr_count_drop(site);
	this_cpu_dec(kedr_bufs.busy);
}

/*
 * One event on this CPU. @pc: the original instruction's address (memory
 * events) or the function's (function events); @size: bytes accessed, 0
 * for function events; @rec_flags: KEDR_REC_F_* the caller knows (per-CPU
 * data), OWN_TASK is added here. The memory and function handlers write
 * theirs inline instead (kedr_ring_record(), kedr_ring.h).
 */
void notrace kedr_record_flags(u8 kind, u32 site, unsigned long pc,
			       unsigned long addr, u32 size, u8 rec_flags)
{
	unsigned long flags;

	raw_local_irq_save(flags);
	kedr_ring_record(kind, site, pc, addr, size, rec_flags, true);
	raw_local_irq_restore(flags);
}

/*
 * kedr_record_flags() for a caller that has interrupts off already: the
 * string and bit-op handlers, called by the helpers after their cli.
 */
void notrace kedr_record_irqs_off(u8 kind, u32 site, unsigned long pc,
				  unsigned long addr, u32 size)
{
	kedr_ring_record(kind, site, pc, addr, size, 0, true);
}

/*
 * @n events that could not be recorded (nested or invalid): dropped. A
 * handler counts every event it would have given (two for a read-write,
 * one per operand a string instruction touched).
 */
void notrace kedr_record_lost(unsigned int n)
{
	unsigned long flags;

	if (!n)
		return;
	raw_local_irq_save(flags);
	this_cpu_add(kedr_bufs.seq, n);
	this_cpu_add(kedr_bufs.dropped, n);
	raw_local_irq_restore(flags);
}

/* Totals over all CPUs. */
static void kedr_totals(u64 *recorded, u64 *dropped)
{
	int cpu;

	*recorded = 0;
	*dropped = 0;
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		*recorded += kedr_head(cb);
		*dropped += READ_ONCE(cb->dropped);
	}
}

/* --- readers ------------------------------------------------------------ */

#define KEDR_LINE_MAX	(2 * KSYM_NAME_LEN + MODULE_NAME_LEN + 160)

struct kedr_reader {
	struct mutex lock;	/* one read of this file at a time */
	enum kedr_stream stream;
	bool started;		/* trace: the header is out */
	bool ended;		/* output: the summary line is out */
	size_t len, off;	/* pending bytes in buf not yet copied */
	char buf[KEDR_LINE_MAX];
};

/*
 * Is the record at position @pos overwritten, or being overwritten, by a
 * writer that had begun @reserve records (struct kedr_cpu_buf: intact while
 * reserve <= pos + kedr_rec_cap)? The one test every reader makes.
 */
static bool kedr_overwritten(u64 reserve, u64 pos)
{
	return reserve > pos + kedr_rec_cap;
}

/*
 * A file of stream @s is opened: the stream is reading from now on; the
 * first time, it starts at the oldest record still kept. Called with
 * kedr_read_mutex held.
 */
static void kedr_subscribe(enum kedr_stream s)
{
	unsigned long subs = kedr_subscribed;
	int cpu;

	WRITE_ONCE(kedr_read_at[s], jiffies);
	if (subs & BIT(s))
		return;
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);
		u64 reserve = READ_ONCE(cb->reserve);

		/* Seen by the writer no later than the subscription below. */
		smp_store_release(&cb->tail[s], reserve > kedr_rec_cap ?
				  reserve - kedr_rec_cap : 0);
	}
	/* Pairs with kedr_floor(): the tails above first. */
	smp_store_release(&kedr_subscribed, subs | BIT(s));
}

/*
 * Moves stream @s past the records of @cb that writers have overwritten or
 * are overwriting, and counts them as lost. Called with kedr_read_mutex.
 */
static void kedr_skip_overwritten(struct kedr_cpu_buf *cb, enum kedr_stream s)
{
	u64 reserve = READ_ONCE(cb->reserve);

	if (kedr_overwritten(reserve, cb->tail[s])) {
		u64 n = reserve - kedr_rec_cap - cb->tail[s];

		/* Pairs with kedr_floor()'s acquire. */
		smp_store_release(&cb->tail[s], cb->tail[s] + n);
		kedr_lost_pending[s] += n;
		kedr_lost_total[s] += n;
	}
}

/* The CPU with the oldest unread record of stream @s; -1 if none. */
static int kedr_next_cpu(enum kedr_stream s)
{
	int cpu, best = -1;
	u64 best_ts = 0;

	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);
		u64 ts;

		kedr_skip_overwritten(cb, s);
		if (cb->tail[s] >= kedr_head(cb))
			continue;
		/* A hint for the order: the record is checked when taken. */
		ts = le64_to_cpu(READ_ONCE(cb->recs[cb->tail[s] % kedr_rec_cap].ts));
		if (best < 0 || ts < best_ts) {
			best = cpu;
			best_ts = ts;
		}
	}
	return best;
}

/* Anything for stream @s? Lockless: a hint for waiting, no more. */
static bool kedr_has_data(enum kedr_stream s)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		if (READ_ONCE(cb->tail[s]) < kedr_head(cb))
			return true;
	}
	return false;
}

/*
 * Waits until every other CPU has finished the record it was writing, if
 * any: that record may be a sync record stamped before the one the reader
 * has chosen, but not published yet. Writers have interrupts off, so the
 * wait is short.
 */
static void kedr_wait_writers(int except)
{
	int cpu;

	/* Pairs with kedr_ring_record()'s smp_wmb(): reserve before the stamp. */
	smp_rmb();
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);
		u64 reserve = READ_ONCE(cb->reserve);

		if (cpu == except)
			continue;
		while (kedr_head(cb) < reserve)
			cpu_relax();
	}
}

/*
 * Takes the next record of stream @s; false if there is none now. Called
 * with kedr_read_mutex held.
 */
static bool kedr_take(enum kedr_stream s, struct kedr_record *out)
{
	struct kedr_cpu_buf *cb;
	int cpu, sync_cpu = -1;
	u64 tail, sync_tail = 0;

	for (;;) {
		cpu = kedr_next_cpu(s);
		if (cpu < 0)
			return false;
		cb = per_cpu_ptr(&kedr_bufs, cpu);
		tail = cb->tail[s];
		memcpy(out, &cb->recs[tail % kedr_rec_cap], sizeof(*out));
		/*
		 * Pairs with kedr_ring_record()'s smp_wmb(): the copy is whole if
		 * no writer had begun to reuse the slot.
		 */
		smp_rmb();
		if (kedr_overwritten(READ_ONCE(cb->reserve), tail))
			continue;	/* overwritten: kedr_next_cpu() skips it */
		if (!kedr_is_sync(out->kind) ||
		    (cpu == sync_cpu && tail == sync_tail))
			break;
		/* A sync record: chosen again once no record is half written. */
		sync_cpu = cpu;
		sync_tail = tail;
		kedr_wait_writers(cpu);
	}
	/* Copied before the writer may reuse the slot. */
	smp_store_release(&cb->tail[s], tail + 1);
	return true;
}

static const char *kedr_kind_name(u8 kind)
{
	switch (kind) {
	case KEDR_EV_ENTRY:
		return "entry";
	case KEDR_EV_EXIT:
		return "exit";
	case KEDR_EV_READ:
		return "read";
	case KEDR_EV_WRITE:
		return "write";
	case KEDR_EV_LOCKED_UPDATE:
		return "locked update";
	case KEDR_EV_LOCKED_DONE:
		return "locked done";
	case KEDR_REC_INDIRECT:
		return "indirect";
	case KEDR_REC_ALLOC:
		return "alloc";
	case KEDR_REC_FREE:
		return "free";
	case KEDR_REC_ACQUIRE:
		return "acquire";
	case KEDR_REC_RELEASE:
		return "release";
	case KEDR_REC_SIGNAL:
		return "signal";
	case KEDR_REC_WAIT:
		return "wait";
	}
	return "?";
}

/* The seed's line for one record. */
static size_t kedr_format(char *buf, size_t size, const struct kedr_record *r)
{
	const struct kedr_blob *b = kedr_rec_blob;
	u32 site = le32_to_cpu(r->site);
	u32 tid = le32_to_cpu(r->tid);
	unsigned long pc = le64_to_cpu(r->pc);
	const struct kedr_site *s;
	const struct kedr_func *f;

	if (r->kind == KEDR_REC_PROBE || r->kind == KEDR_REC_PROBE_REGS)
		return kedr_probe_format(buf, size, r);
	/* Without a site (kedr_record.h): @pc is already the original's. */
	if (site == KEDR_REC_NO_SITE)
		return scnprintf(buf, size, "TID=0x%x %s at 0x%lx: addr=0x%llx, size=%u\n",
				 tid, kedr_kind_name(r->kind), pc,
				 le64_to_cpu(r->addr), le32_to_cpu(r->size));
	/* Records are only made for valid site indices. */
	if (site >= b->nr_sites)
		return scnprintf(buf, size, "TID=0x%x %s: site %u?\n", tid,
				 kedr_kind_name(r->kind), site);
	s = &b->sites[site];
	f = &b->funcs[s->func];
	if (r->kind == KEDR_EV_ENTRY || r->kind == KEDR_EV_EXIT)
		return scnprintf(buf, size, "TID=0x%x %s: addr=0x%lx (\"%s\")\n",
				 tid, kedr_kind_name(r->kind), pc,
				 b->funcs[f->owner].name);
	return scnprintf(buf, size,
			 "TID=0x%x %s at 0x%lx (%s+0x%x/0x%x [%s]): addr=0x%llx, size=%u\n",
			 tid, kedr_kind_name(r->kind), pc, f->name, s->offset,
			 f->size, b->target_name, le64_to_cpu(r->addr),
			 le32_to_cpu(r->size));
}

static size_t kedr_header(char *buf)
{
	struct kedr_trace_header *h = (struct kedr_trace_header *)buf;

	memset(h, 0, sizeof(*h));
	memcpy(h->magic, KEDR_TRACE_MAGIC, sizeof(h->magic));
	h->version = cpu_to_le16(KEDR_TRACE_VERSION);
	h->header_size = cpu_to_le16(sizeof(*h));
	h->record_size = cpu_to_le16(sizeof(struct kedr_record));
	strscpy(h->target, kedr_rec_blob->target_name, sizeof(h->target));
	h->target_core_base = cpu_to_le64(READ_ONCE(kedr_core_base));
	return sizeof(*h);
}

/* Can the stream end (once it has read everything)? */
static bool kedr_rec_over(void)
{
	return READ_ONCE(kedr_rec_closing) ||
	       (!READ_ONCE(kedr_rec_live) && READ_ONCE(kedr_rec_seen));
}

/*
 * Refills rd->buf with the next piece of the stream. Returns 1 if there is
 * something, 0 at the end of the stream, -EAGAIN if nothing yet.
 * Called with kedr_read_mutex held.
 */
static int kedr_refill(struct kedr_reader *rd)
{
	enum kedr_stream s = rd->stream;
	struct kedr_record r;
	u64 recorded, dropped;
	bool over;

	rd->off = 0;
	rd->len = 0;
	if (READ_ONCE(kedr_rec_closing))
		return 0;
	if (s == KEDR_STREAM_TRACE && !rd->started) {
		rd->started = true;
		rd->len = kedr_header(rd->buf);
		return 1;
	}
	WRITE_ONCE(kedr_read_at[s], jiffies);	/* this stream is reading */
	over = kedr_rec_over();
	/* "over" first: then no more records come (kedr_recorder_stop()). */
	smp_rmb();
	while (kedr_take(s, &r)) {
		if (s == KEDR_STREAM_TRACE) {
			memcpy(rd->buf, &r, sizeof(r));
			rd->len = sizeof(r);
			kedr_lost_pending[s] = 0;	/* seq gaps tell */
			return 1;
		}
		/*
		 * The seed's lines are accesses: a locked update's second
		 * record (its acquire side) is in the binary streams only.
		 */
		if (r.kind == KEDR_EV_LOCKED_DONE)
			continue;
		if (kedr_lost_pending[s])
			rd->len = scnprintf(rd->buf, sizeof(rd->buf),
					    "lost: %llu events (overwritten before this stream read them)\n",
					    kedr_lost_pending[s]);
		kedr_lost_pending[s] = 0;
		rd->len += kedr_format(rd->buf + rd->len,
				       sizeof(rd->buf) - rd->len, &r);
		return 1;
	}
	if (!over)
		return -EAGAIN;
	if (s == KEDR_STREAM_TRACE || rd->ended)
		return 0;
	rd->ended = true;
	kedr_totals(&recorded, &dropped);
	rd->len = scnprintf(rd->buf, sizeof(rd->buf),
			    "events: %llu recorded, %llu dropped", recorded,
			    dropped);
	if (kedr_lost_total[s])
		rd->len += scnprintf(rd->buf + rd->len,
				     sizeof(rd->buf) - rd->len,
				     ", %llu lost by this stream",
				     kedr_lost_total[s]);
	rd->len += scnprintf(rd->buf + rd->len, sizeof(rd->buf) - rd->len,
			     "\n");
	return 1;
}

static int kedr_stream_open(struct inode *inode, struct file *file)
{
	enum kedr_stream s = (uintptr_t)inode->i_private;
	struct kedr_reader *rd;

	rd = kzalloc(sizeof(*rd), GFP_KERNEL);
	if (!rd)
		return -ENOMEM;
	mutex_init(&rd->lock);
	rd->stream = s;
	mutex_lock(&kedr_read_mutex);
	kedr_subscribe(s);
	mutex_unlock(&kedr_read_mutex);
	file->private_data = rd;
	atomic_inc(&kedr_open_files);
	return stream_open(inode, file);
}

static int kedr_stream_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	/* kedr_recorder_exit() may be waiting for the last one. */
	if (atomic_dec_and_test(&kedr_open_files))
		wake_up_all(&kedr_read_wq);
	return 0;
}

/*
 * Waits for something to read or the end of the stream: 0, or -ERESTARTSYS
 * on a signal. Writers cannot wake anyone (NMI): polls every few ms.
 */
static int kedr_wait(enum kedr_stream s)
{
	long ret = wait_event_interruptible_timeout(kedr_read_wq,
			kedr_has_data(s) || kedr_rec_over(),
			msecs_to_jiffies(10));

	return ret < 0 ? -ERESTARTSYS : 0;
}

/*
 * The shared state (cursors) is only touched under kedr_read_mutex, which is
 * never held across copy_to_user(): a reader whose buffer faults (or sits in
 * userfaultfd) holds up only its own file.
 */
static ssize_t kedr_stream_read(struct file *file, char __user *ubuf,
				size_t count, loff_t *ppos)
{
	struct kedr_reader *rd = file->private_data;
	size_t done = 0;
	int ret = 0;

	if (mutex_lock_interruptible(&rd->lock))
		return -ERESTARTSYS;
	while (done < count) {
		size_t n;

		if (rd->off == rd->len) {
			if (mutex_lock_interruptible(&kedr_read_mutex)) {
				ret = -ERESTARTSYS;
				break;
			}
			ret = kedr_refill(rd);
			mutex_unlock(&kedr_read_mutex);
			if (ret == 0 || (ret < 0 && done))
				break;	/* end of stream, or return what we have */
			if (ret < 0) {
				if (file->f_flags & O_NONBLOCK)
					break;	/* -EAGAIN */
				ret = kedr_wait(rd->stream);
				if (ret)
					break;
				continue;
			}
		}
		n = min(count - done, rd->len - rd->off);
		if (copy_to_user(ubuf + done, rd->buf + rd->off, n)) {
			ret = -EFAULT;
			break;
		}
		rd->off += n;
		done += n;
	}
	mutex_unlock(&rd->lock);
	return done ? done : ret;
}

static const struct file_operations kedr_stream_fops = {
	.owner = THIS_MODULE,
	.open = kedr_stream_open,
	.release = kedr_stream_release,
	.read = kedr_stream_read,
	.llseek = no_llseek,
};

/*
 * per_cpu/cpuN/raw: CPU N's records, struct kedr_record after struct
 * kedr_record, no header and no merge (the header is in the file "header").
 * A read copies whole records straight from the ring to the reader's buffer,
 * as many as fit (at most two copies, where the ring wraps). The stream is
 * consuming, like output and trace, with one cursor per CPU; a stalled raw
 * reader is overwritten as the others are, which it sees as gaps in seq.
 *
 * per_cpu/cpuN/ring: the same stream (the same cursor, under the same
 * raw_lock), read through a mapping of the ring instead: the reader maps it
 * (read-only) and copies the records itself, moving the cursor with two
 * ioctls (kmod/kedr_raw.h): GET waits as a read does and says where the next
 * records are, PUT moves the cursor past them once copied, unless a writer
 * may have overwritten some meanwhile (the check kedr_raw_copy() makes after
 * its copy). The records then cross to user space once, in the reader's own
 * (vector) moves, not through copy_to_user()'s byte-wise `rep movsb`. A file
 * of its own, not raw's: under lockdown debugfs refuses to open any file
 * whose operations have mmap or ioctls, and raw stays readable there.
 */
static struct kedr_cpu_buf *kedr_raw_buf(struct file *file)
{
	return per_cpu_ptr(&kedr_bufs, (int)(uintptr_t)file->private_data);
}

/* raw and ring alike: a reader of the RAW stream (kedr record). */
static int kedr_raw_open(struct inode *inode, struct file *file)
{
	mutex_lock(&kedr_read_mutex);
	kedr_subscribe(KEDR_STREAM_RAW);
	mutex_unlock(&kedr_read_mutex);
	file->private_data = inode->i_private;
	atomic_inc(&kedr_open_files);
	WRITE_ONCE(kedr_reader_tgid, current->tgid);
	atomic_inc(&kedr_raw_readers);
	return stream_open(inode, file);
}

static int kedr_raw_release(struct inode *inode, struct file *file)
{
	atomic_dec(&kedr_raw_readers);
	if (atomic_dec_and_test(&kedr_open_files))
		wake_up_all(&kedr_read_wq);
	return 0;
}

/* Something to read on @cb, or the end? Lockless: a hint for waiting. */
static bool kedr_raw_ready(struct kedr_cpu_buf *cb)
{
	return READ_ONCE(cb->tail[KEDR_STREAM_RAW]) < kedr_head(cb) ||
	       kedr_rec_over();
}

/*
 * Says once per burst of drops on @cpu that the reader did not keep up, and
 * when the code recorded there waited wait_ms for it in vain.
 */
static void kedr_raw_tell_drops(struct kedr_cpu_buf *cb, int cpu)
{
	u64 dropped = READ_ONCE(cb->dropped), gave_up = READ_ONCE(cb->gave_up);

	if (gave_up != cb->gave_up_told) {
		pr_warn_ratelimited("cpu%d: the code recorded there waited wait_ms=%u for per_cpu/cpu%d/raw to be read, in vain (%llu times so far): it drops events until the file is read again\n",
				    cpu, READ_ONCE(kedr_wait_ms), cpu, gave_up);
		cb->gave_up_told = gave_up;
	}
	if (dropped == cb->raw_dropped_told)
		return;
	pr_warn_ratelimited("cpu%d: %llu events dropped so far: they came faster than per_cpu/cpu%d/raw was read (ring of %u records; nr_records, or filters, can help)\n",
			    cpu, dropped, cpu, kedr_rec_cap);
	cb->raw_dropped_told = dropped;
}

/*
 * Copies up to @max records of @cb from the raw cursor to @ubuf; the cursor
 * moves past what was copied. Returns the records copied (0: none now), or
 * -EFAULT. Called with cb->raw_lock held.
 */
static ssize_t kedr_raw_copy(struct kedr_cpu_buf *cb, char __user *ubuf,
			     size_t max)
{
	const size_t rsz = sizeof(struct kedr_record);
	u64 tail = cb->tail[KEDR_STREAM_RAW];
	size_t done = 0;

	while (done < max) {
		u64 head = kedr_head(cb), reserve = READ_ONCE(cb->reserve);
		u64 n, idx;

		/* Overwritten before we read them (a stalled reader). */
		if (kedr_overwritten(reserve, tail))
			tail = reserve - kedr_rec_cap;
		if (tail >= head)
			break;
		idx = tail % kedr_rec_cap;
		n = min3(head - tail, (u64)(max - done), kedr_rec_cap - idx);
		if (copy_to_user(ubuf + done * rsz, &cb->recs[idx], n * rsz))
			return -EFAULT;
		/*
		 * Pairs with kedr_ring_record()'s smp_wmb(): the copy is whole if no
		 * writer had begun to reuse its slots; if one had, copy again
		 * from the oldest record still intact, over it.
		 */
		smp_rmb();
		if (kedr_overwritten(READ_ONCE(cb->reserve), tail))
			continue;
		tail += n;
		done += n;
	}
	/* Copied before the writer may reuse the slots. */
	smp_store_release(&cb->tail[KEDR_STREAM_RAW], tail);
	return done;
}

/*
 * The next records a mapped reader of @cb may copy: up to @max from the raw
 * cursor (moved past what writers overwrote, as kedr_raw_copy() does), not
 * past the ring's end; *@pos gets the cursor. Called with cb->raw_lock held.
 */
static ssize_t kedr_raw_span(struct kedr_cpu_buf *cb, size_t max, u64 *pos)
{
	u64 tail = cb->tail[KEDR_STREAM_RAW];
	u64 head = kedr_head(cb), reserve = READ_ONCE(cb->reserve);

	/* Overwritten before we read them (a stalled reader). */
	if (kedr_overwritten(reserve, tail)) {
		tail = reserve - kedr_rec_cap;
		/* Pairs with kedr_floor()'s acquire, as every move does. */
		smp_store_release(&cb->tail[KEDR_STREAM_RAW], tail);
	}
	*pos = tail;
	if (tail >= head)
		return 0;
	return min3(head - tail, (u64)max, kedr_rec_cap - tail % kedr_rec_cap);
}

/*
 * What a raw reader of @file gets next, waiting as a read of the stream
 * does: with @pos NULL, up to @max records copied to @ubuf (read(), whose
 * buffer may be any user pointer, NULL too); otherwise the span of up to
 * @max records a mapped reader copies (kedr_raw_span(), KEDR_RAW_IOC_GET).
 * Returns the records, 0 at the end of the stream, or -EAGAIN (O_NONBLOCK),
 * -ERESTARTSYS, -EFAULT. Called with the CPU's raw_lock held.
 */
static ssize_t kedr_raw_take(struct file *file, char __user *ubuf,
			     size_t max, u64 *pos)
{
	int cpu = (int)(uintptr_t)file->private_data;
	struct kedr_cpu_buf *cb = kedr_raw_buf(file);
	ssize_t ret;

	for (;;) {
		bool over;

		if (READ_ONCE(kedr_rec_closing))
			return 0;
		WRITE_ONCE(kedr_read_at[KEDR_STREAM_RAW], jiffies);
		over = kedr_rec_over();
		/* "over" first: then no more records come. */
		smp_rmb();
		ret = pos ? kedr_raw_span(cb, max, pos) :
			    kedr_raw_copy(cb, ubuf, max);
		kedr_raw_tell_drops(cb, cpu);
		if (ret || over)
			return ret;	/* records, an error, or the end */
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		if (wait_event_interruptible_timeout(kedr_read_wq,
						     kedr_raw_ready(cb),
						     msecs_to_jiffies(10)) < 0)
			return -ERESTARTSYS;
	}
}

static ssize_t kedr_raw_read(struct file *file, char __user *ubuf,
			     size_t count, loff_t *ppos)
{
	struct kedr_cpu_buf *cb = kedr_raw_buf(file);
	size_t max = count / sizeof(struct kedr_record);
	ssize_t ret;

	if (!max)
		return -EINVAL;	/* not even one whole record */
	if (mutex_lock_interruptible(&cb->raw_lock))
		return -ERESTARTSYS;
	ret = kedr_raw_take(file, ubuf, max, NULL);
	cb->raw_granted = 0;	/* the cursor moved under any GET's span */
	mutex_unlock(&cb->raw_lock);
	return ret > 0 ? ret * sizeof(struct kedr_record) : ret;
}

/*
 * The whole ring, read-only and shared (kedr_raw.h): the pages behind
 * cb->recs in their order, so slot i is at i * sizeof(struct kedr_record).
 * They were zeroed when allocated: nothing but records is shown.
 */
static int kedr_raw_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kedr_cpu_buf *cb = kedr_raw_buf(file);
	unsigned long left = cb->nr_pages;

	if (vma->vm_flags & VM_EXEC)
		return -EPERM;	/* records are not code */
	/* MAP_SHARED of a read-only file is VM_MAYSHARE without VM_SHARED. */
	if (vma->vm_pgoff || vma_pages(vma) != cb->nr_pages ||
	    !(vma->vm_flags & VM_MAYSHARE) || (vma->vm_flags & VM_WRITE))
		return -EINVAL;
	/* Nor writable or executable by mprotect() later (EACCES). */
	vma->vm_flags &= ~(VM_MAYWRITE | VM_MAYEXEC);
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY;
	/* On failure mmap() unmaps what was inserted. */
	return vm_insert_pages(vma, vma->vm_start, cb->pages, &left);
}

static long kedr_raw_info(struct file *file, void __user *uarg)
{
	struct kedr_cpu_buf *cb = kedr_raw_buf(file);
	struct kedr_raw_info info;

	memset(&info, 0, sizeof(info));
	info.record_size = sizeof(struct kedr_record);
	info.nr_records = kedr_rec_cap;
	info.map_size = (u64)cb->nr_pages << PAGE_SHIFT;
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* KEDR_RAW_IOC_GET: where the next records are (kedr_raw_take()). */
static long kedr_raw_get(struct file *file, void __user *uarg)
{
	struct kedr_cpu_buf *cb = kedr_raw_buf(file);
	struct kedr_raw_span span;
	ssize_t ret;
	u64 pos = 0;

	if (copy_from_user(&span, uarg, sizeof(span)))
		return -EFAULT;
	if (span.flags || span.reserved)
		return -EINVAL;
	if (mutex_lock_interruptible(&cb->raw_lock))
		return -ERESTARTSYS;
	ret = kedr_raw_take(file, NULL, span.count ? span.count : U32_MAX,
			    &pos);
	/* What a PUT may move the cursor past: this span, no more. */
	cb->raw_granted = ret > 0 ? pos + ret : 0;
	mutex_unlock(&cb->raw_lock);
	if (ret < 0)
		return ret;
	span.pos = pos;
	span.index = pos % kedr_rec_cap;
	span.count = ret;
	return copy_to_user(uarg, &span, sizeof(span)) ? -EFAULT : 0;
}

/*
 * KEDR_RAW_IOC_PUT: the reader copied @count records from @pos out of the
 * mapping; the cursor moves past them if none was overwritten meanwhile.
 * They must lie in the span the last GET gave (cb->raw_granted): past it,
 * a reader may have copied slots the writer had not written yet (their old
 * contents), which written by now would pass the checks below as whole.
 */
static long kedr_raw_put(struct file *file, void __user *uarg)
{
	struct kedr_raw_span __user *uspan = uarg;
	struct kedr_cpu_buf *cb = kedr_raw_buf(file);
	struct kedr_raw_span span;
	long ret = 0;
	u64 tail;

	if (copy_from_user(&span, uspan, sizeof(span)))
		return -EFAULT;
	if (span.flags || span.reserved)
		return -EINVAL;
	/*
	 * The answer is @flags alone: that it can be written is made sure of
	 * first (0, as it is), so an EFAULT means the cursor did not move.
	 */
	if (put_user(0U, &uspan->flags))
		return -EFAULT;
	if (mutex_lock_interruptible(&cb->raw_lock))
		return -ERESTARTSYS;
	tail = cb->tail[KEDR_STREAM_RAW];
	/*
	 * The grant is within what was written, up to the ring's end, from
	 * this cursor: it has not moved since (pos == tail), and only GET
	 * moves it past overwritten records, replacing the grant.
	 */
	if (span.pos != tail || span.pos + span.count > cb->raw_granted) {
		ret = -EINVAL;
		goto out;
	}
	/*
	 * As in kedr_raw_copy(): pairs with kedr_ring_record()'s smp_wmb().
	 * The reader's loads of the records came before this ioctl in its
	 * program order, and x86 keeps loads in order: if no writer had
	 * begun to reuse their slots by now, the copy was whole.
	 */
	smp_rmb();
	if (kedr_overwritten(READ_ONCE(cb->reserve), tail))
		span.flags = KEDR_RAW_TORN;	/* the cursor stays */
	else
		/* Copied before the writer may reuse the slots. */
		smp_store_release(&cb->tail[KEDR_STREAM_RAW],
				  tail + span.count);
out:
	mutex_unlock(&cb->raw_lock);
	/* Fails only if the caller unmapped it meanwhile: its own race. */
	if (!ret && put_user(span.flags, &uspan->flags))
		ret = -EFAULT;
	return ret;
}

static long kedr_raw_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case KEDR_RAW_IOC_INFO:
		return kedr_raw_info(file, uarg);
	case KEDR_RAW_IOC_GET:
		return kedr_raw_get(file, uarg);
	case KEDR_RAW_IOC_PUT:
		return kedr_raw_put(file, uarg);
	}
	return -ENOTTY;
}

static const struct file_operations kedr_raw_fops = {
	.owner = THIS_MODULE,
	.open = kedr_raw_open,
	.release = kedr_raw_release,
	.read = kedr_raw_read,
	.llseek = no_llseek,
};

/*
 * The ring files are made with debugfs_create_file_unsafe(): debugfs's full
 * proxy in 6.1 forwards no mmap. What the proxy would add is that no
 * operation runs once debugfs_remove() has returned; ours need no such
 * guard. Their code is this module's, held while a file is open
 * (open_proxy_open() takes the fops' owner); everything they touch
 * (kedr_bufs and the rings' pages, raw_lock, kedr_read_wq, the cursors) is
 * freed only in kedr_recorder_exit() once the last file is released
 * (kedr_open_files), and a mapping holds its file open, so no page is freed
 * while mapped. A forced unload sets kedr_rec_closing first: GETs then end
 * at once.
 */
static const struct file_operations kedr_ring_fops = {
	.owner = THIS_MODULE,
	.open = kedr_raw_open,
	.release = kedr_raw_release,
	.mmap = kedr_raw_mmap,
	.unlocked_ioctl = kedr_raw_ioctl,
	/* The structs are the same for 32-bit callers (no padding). */
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

/*
 * header: the struct kedr_trace_header the trace stream starts with, as it
 * is now (the target's base is known once it has loaded). Reading it
 * subscribes nothing: `kedr record` reads it at the end.
 */
static ssize_t kedr_header_read(struct file *file, char __user *ubuf,
				size_t count, loff_t *ppos)
{
	char buf[sizeof(struct kedr_trace_header)];

	kedr_header(buf);
	return simple_read_from_buffer(ubuf, count, ppos, buf, sizeof(buf));
}

static const struct file_operations kedr_header_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = kedr_header_read,
	.llseek = default_llseek,
};

static int kedr_stats_show(struct seq_file *m, void *v)
{
	u64 recorded, dropped, filtered = 0, waited_ns = 0;
	int cpu;

	/* Whether a read of output/trace would wait for a target now. */
	seq_printf(m, "# streams: %s\n",
		   READ_ONCE(kedr_rec_live) ? "target attached" :
		   READ_ONCE(kedr_rec_seen) ? "target gone, ending when read" :
		   "waiting for the target");
	seq_puts(m, "# cpu recorded dropped size filtered waited_ms\n");
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);
		u64 waited = READ_ONCE(cb->waited_ns);

		seq_printf(m, "%d %llu %llu %u %llu %llu\n", cpu,
			   kedr_head(cb), READ_ONCE(cb->dropped),
			   kedr_rec_cap, kedr_filtered_on(cpu),
			   div_u64(waited, NSEC_PER_MSEC));
		filtered += kedr_filtered_on(cpu);
		waited_ns += waited;
	}
	kedr_totals(&recorded, &dropped);
	seq_printf(m, "all %llu %llu %llu %llu %llu\n", recorded, dropped,
		   (u64)kedr_rec_cap * num_possible_cpus(), filtered,
		   div_u64(waited_ns, NSEC_PER_MSEC));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kedr_stats);

/*
 * dropped_functions: "dropped symidx name" for each function of the target
 * with events dropped at a full ring (symidx: its index in the .ko's
 * .symtab). Drops of nested events, which have no function, are not here.
 */
static int kedr_func_drops_show(struct seq_file *m, void *v)
{
	const struct kedr_blob *b = kedr_rec_blob;
	u32 i;

	for (i = 0; kedr_func_drops && i < b->nr_funcs; i++) {
		long n = atomic_long_read(&kedr_func_drops[i]);

		if (n)
			seq_printf(m, "%ld %u %s\n", n, b->funcs[i].symidx,
				   b->funcs[i].name);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kedr_func_drops);

/* --- the target's life ---------------------------------------------------- */

/* Before the copies can run. */
void kedr_recorder_start(void)
{
	WRITE_ONCE(kedr_rec_live, true);
}

/* Once no copy runs and no handler is in progress (may sleep). */
void kedr_recorder_stop(void)
{
	/* Every record is published before readers see the end. */
	smp_wmb();
	WRITE_ONCE(kedr_rec_seen, true);
	WRITE_ONCE(kedr_rec_live, false);
	wake_up_all(&kedr_read_wq);
}

/* Where the target is, for the trace header: attach tells before start. */
void kedr_recorder_target(unsigned long core_base)
{
	WRITE_ONCE(kedr_core_base, core_base);
}

/*
 * The target is live or going without being attached (its blob was
 * refused, it came before us and a live attach failed): streams may end.
 */
void kedr_recorder_unattached(void)
{
	if (READ_ONCE(kedr_rec_live))
		return;
	WRITE_ONCE(kedr_rec_seen, true);
	wake_up_all(&kedr_read_wq);
}

static void kedr_ring_free(struct kedr_cpu_buf *cb)
{
	unsigned int i;

	if (cb->recs)
		vunmap(cb->recs);
	for (i = 0; cb->pages && i < cb->nr_pages; i++)
		if (cb->pages[i])
			__free_page(cb->pages[i]);
	kvfree(cb->pages);
	memset(cb, 0, sizeof(*cb));
	cb->floor_subs = ULONG_MAX;
}

/*
 * One CPU's ring: pages from the page allocator with __GFP_NORETRY (it
 * fails rather than waking the OOM killer; vmalloc() in 6.1 does not
 * honour the flag), mapped contiguously.
 */
static int kedr_ring_alloc(struct kedr_cpu_buf *cb, int cpu, size_t bytes)
{
	/* Zeroed: a raw reader maps the pages, unwritten slots included. */
	const gfp_t gfp = GFP_KERNEL | __GFP_NORETRY | __GFP_NOWARN |
			  __GFP_ZERO;
	unsigned int i, n = DIV_ROUND_UP(bytes, PAGE_SIZE);

	cb->pages = kvcalloc(n, sizeof(*cb->pages), GFP_KERNEL);
	if (!cb->pages)
		return -ENOMEM;
	cb->nr_pages = n;
	for (i = 0; i < n; i++) {
		cb->pages[i] = alloc_pages_node(cpu_to_node(cpu), gfp, 0);
		if (!cb->pages[i])
			return -ENOMEM;
		cond_resched();
	}
	cb->recs = vmap(cb->pages, n, VM_MAP, PAGE_KERNEL);
	return cb->recs ? 0 : -ENOMEM;
}

static void kedr_free_bufs(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		kedr_ring_free(per_cpu_ptr(&kedr_bufs, cpu));
}

/* The rings of all CPUs may take this much memory at most. */
static u64 kedr_ring_limit(void)
{
	return ((u64)totalram_pages() << PAGE_SHIFT) / 4;
}

/*
 * per_cpu/cpuN/raw and per_cpu/cpuN/ring for every possible CPU; the last
 * dentry, or an error.
 */
static struct dentry *kedr_raw_files(void)
{
	struct dentry *dir, *cpu_dir, *d = NULL;
	char name[16];
	int cpu;

	dir = debugfs_create_dir("per_cpu", kedr_debugfs_dir);
	for_each_possible_cpu(cpu) {
		snprintf(name, sizeof(name), "cpu%d", cpu);
		cpu_dir = debugfs_create_dir(name, dir);
		d = debugfs_create_file("raw", 0444, cpu_dir,
					(void *)(uintptr_t)cpu, &kedr_raw_fops);
		if (IS_ERR(d))
			break;
		/* Unsafe: see kedr_ring_fops, for the mapping. */
		d = debugfs_create_file_unsafe("ring", 0444, cpu_dir,
					       (void *)(uintptr_t)cpu,
					       &kedr_ring_fops);
		if (IS_ERR(d))
			break;
	}
	return d;
}

/*
 * The default ring size: all CPUs' rings together take 1/16 of RAM (32 MiB
 * of a 512 MiB machine with 2 CPUs: 349,525 records each), at least 4,096
 * records and at most @max_records per CPU.
 */
static unsigned int kedr_default_records(unsigned int max_records)
{
	u64 n = ((u64)totalram_pages() << PAGE_SHIFT) / 16 /
		num_possible_cpus() / sizeof(struct kedr_record);

	return clamp_t(u64, n, 4096, max_records);
}

/* @nr_records: the size of each CPU's ring, 0 for kedr_default_records(). */
int kedr_recorder_init(const struct kedr_blob *blob, unsigned int nr_records,
		       unsigned int max_records)
{
	size_t bytes;
	u64 total;
	struct dentry *d;
	int cpu;

	if (!nr_records)
		nr_records = kedr_default_records(max_records);
	bytes = array_size(nr_records, sizeof(struct kedr_record));
	total = (u64)bytes * num_possible_cpus();

	if (total > kedr_ring_limit() || bytes > INT_MAX) {
		pr_err("nr_records=%u: the event rings would take %llu MiB (%u CPUs), more than a quarter of RAM (%llu MiB): use a smaller nr_records\n",
		       nr_records, total >> 20, num_possible_cpus(),
		       kedr_ring_limit() >> 20);
		return -ENOMEM;
	}
	kedr_rec_cap = nr_records;
	kedr_room_limit = nr_records - max(nr_records / 8,
					   min(KEDR_MIN_MARGIN, nr_records / 2));
	kedr_rec_blob = blob;
	kedr_subscribed = 0;
	kedr_rec_live = false;
	kedr_rec_seen = false;
	kedr_rec_closing = false;
	kedr_core_base = 0;
	for_each_possible_cpu(cpu) {
		struct kedr_cpu_buf *cb = per_cpu_ptr(&kedr_bufs, cpu);

		memset(cb, 0, sizeof(*cb));
		cb->gave_up_floor = U64_MAX;	/* no wait has given up */
		cb->floor_subs = ULONG_MAX;	/* the floor not computed yet */
		per_cpu(kedr_room_wanted, cpu) = false;
		mutex_init(&cb->raw_lock);
		if (kedr_ring_alloc(cb, cpu, bytes)) {
			kedr_free_bufs();
			pr_err("nr_records=%u: cannot allocate the event rings (%llu MiB for %u CPUs) now: use a smaller nr_records\n",
			       nr_records, total >> 20, num_possible_cpus());
			return -ENOMEM;
		}
	}

	/* Without it drops are still counted, only not per function. */
	kedr_func_drops = kvcalloc(blob->nr_funcs, sizeof(*kedr_func_drops),
				   GFP_KERNEL);

	kedr_debugfs_dir = debugfs_create_dir("kedr_sample", NULL);
	d = debugfs_create_file("output", 0444, kedr_debugfs_dir,
				(void *)(uintptr_t)KEDR_STREAM_OUTPUT,
				&kedr_stream_fops);
	if (!IS_ERR(d))
		d = debugfs_create_file("trace", 0444, kedr_debugfs_dir,
					(void *)(uintptr_t)KEDR_STREAM_TRACE,
					&kedr_stream_fops);
	if (!IS_ERR(d))
		d = debugfs_create_file("stats", 0444, kedr_debugfs_dir, NULL,
					&kedr_stats_fops);
	if (!IS_ERR(d))
		d = debugfs_create_file("header", 0444, kedr_debugfs_dir, NULL,
					&kedr_header_fops);
	if (!IS_ERR(d))
		d = kedr_raw_files();
	if (!IS_ERR(d))
		d = kedr_filter_init(blob, kedr_debugfs_dir);
	if (!IS_ERR(d))
		d = debugfs_create_file("dropped_functions", 0444,
					kedr_debugfs_dir, NULL,
					&kedr_func_drops_fops);
	if (IS_ERR(d))
		pr_warn("cannot create kedr_sample/ files in debugfs (%ld): events will not be visible\n",
			PTR_ERR(d));
	return 0;
}

void kedr_recorder_exit(void)
{
	/*
	 * With a file open, only a forced unload gets here: every read ends
	 * now (EOF), so debugfs_remove(), which waits for reads in progress,
	 * returns; then the files must be closed before our release code and
	 * the rings go away.
	 */
	WRITE_ONCE(kedr_rec_closing, true);
	wake_up_all(&kedr_read_wq);
	debugfs_remove(kedr_debugfs_dir);
	while (!wait_event_timeout(kedr_read_wq,
				   !atomic_read(&kedr_open_files), 5 * HZ))
		pr_warn_once("unloading: waiting for the %d open files of /sys/kernel/debug/kedr_sample/ to be closed (a mapping of a per_cpu/cpuN/ring holds its file open until unmapped)\n",
			     atomic_read(&kedr_open_files));
	kedr_filter_exit();
	kvfree(kedr_func_drops);
	kedr_func_drops = NULL;
	kedr_free_bufs();
}
