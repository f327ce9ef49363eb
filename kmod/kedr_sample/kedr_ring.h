/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The writing side of the recorder's per-CPU rings (kedr_recorder.c, whose
 * top comment says who waits for whom), shared with the memory and
 * function handlers of kedr_events.c so that they write their records
 * inline: one function body from the helper's call to the stored record,
 * without a second interrupt save or a call per record. Private to those
 * two files.
 *
 * kedr_ring_record() runs with interrupts off (the helpers' cli, or
 * kedr_record_flags()'s save) and may be entered by an NMI on the same CPU
 * at any point: everything it shares with such an NMI is either a per-CPU
 * read-modify-write of one instruction (seq, busy, dropped) or belongs to
 * whoever holds the CPU's busy count (the ring, head, wpos, the cached
 * floor): a nested writer finds busy taken and drops its event (counted).
 */
#ifndef KEDR_RING_H
#define KEDR_RING_H

#include <linux/compiler.h>
#include <linux/jump_label.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/task_stack.h>
#include <linux/types.h>
#include <asm/unaligned.h>

#include "kedr_record.h"
#include "kedr_sample.h"

enum kedr_stream {
	KEDR_STREAM_OUTPUT,
	KEDR_STREAM_TRACE,
	KEDR_STREAM_RAW,	/* per_cpu/cpuN/raw: one cursor per CPU */
	KEDR_NR_STREAMS
};

/* One CPU's ring. Positions count records since kedr_sample was loaded. */
struct kedr_cpu_buf {
	struct kedr_record *recs;	/* kedr_rec_cap entries */
	struct page **pages;	/* behind recs (vmap) */
	unsigned int nr_pages;
	u64 head;		/* records written; written by this CPU only */
	/*
	 * Records begun: head, or head + 1 while one is being written. The
	 * record at position p is intact while reserve <= p + kedr_rec_cap.
	 */
	u64 reserve;
	u32 wpos;		/* head % kedr_rec_cap; this CPU only */
	/* Written by this CPU only (this_cpu ops), read by anyone. */
	u64 seq;		/* events seen: recorded + dropped */
	u64 dropped;
	unsigned int busy;	/* inside kedr_ring_record() */
	/*
	 * A lower bound of kedr_floor() while kedr_subscribed is floor_subs
	 * (kedr_ring_room()); the writer's, under busy. floor_subs is
	 * ULONG_MAX (no set of streams) until the first look at the ring.
	 */
	u64 floor_lb;
	unsigned long floor_subs;
	/*
	 * Read positions: output and trace under kedr_read_mutex, raw under
	 * raw_lock (this CPU's raw file).
	 */
	u64 tail[KEDR_NR_STREAMS];
	struct mutex raw_lock;
	/*
	 * Under raw_lock: the end of the span the last KEDR_RAW_IOC_GET gave
	 * (a PUT may not go past it); 0 after a read() or a GET that gave none.
	 */
	u64 raw_granted;
	u64 raw_dropped_told;	/* dropped when the raw reader last warned */
	/* Waiting for room (kedr_record_wait()); written by this CPU only. */
	u64 waited_ns;		/* by waits that ended on this CPU */
	u64 gave_up_floor;	/* the floor when a wait last gave up */
	u64 gave_up;		/* waits that gave up */
	u64 gave_up_told;	/* gave_up when the raw reader last warned */
};

DECLARE_PER_CPU(struct kedr_cpu_buf, kedr_bufs);
extern unsigned int kedr_rec_cap;
extern unsigned int kedr_room_limit;
extern unsigned long kedr_subscribed;

/* kedr_recorder.c: the parts of kedr_ring_record() kept out of line. */
u64 kedr_sync_stamp(u64 now);
bool kedr_ring_room_slow(struct kedr_cpu_buf *cb, u64 head);
void kedr_ring_drop(u32 site);

/*
 * in_nmi(), in_hardirq(), in_serving_softirq(), in that order; the usual
 * case (neither NMI nor hardirq) with one test of the preempt count.
 */
static __always_inline u8 kedr_context(void)
{
	if (unlikely(preempt_count() & (NMI_MASK | HARDIRQ_MASK)))
		return in_nmi() ? KEDR_CTX_NMI : KEDR_CTX_HARDIRQ;
	return in_serving_softirq() ? KEDR_CTX_SOFTIRQ : KEDR_CTX_TASK;
}

/* Stamped from the shared sync clock: see kedr_sync_stamp(). */
static __always_inline bool kedr_is_sync(u8 kind)
{
	return (kind >= KEDR_REC_ACQUIRE && kind <= KEDR_REC_FREE) ||
	       kind == KEDR_EV_LOCKED_UPDATE || kind == KEDR_EV_LOCKED_DONE;
}

/*
 * struct kedr_record.stack_order: @addr inside the running task's stack
 * (THREAD_SIZE bytes, THREAD_ALIGN-aligned: the race detector finds the
 * stack's base from any address in it), so that a stack given to a new
 * task can be told from a live object on another task's stack.
 */
static __always_inline u8 kedr_stack_order(unsigned long addr)
{
	BUILD_BUG_ON(!is_power_of_2(THREAD_SIZE) || THREAD_ALIGN != THREAD_SIZE);
	return addr - (unsigned long)task_stack_page(current) < THREAD_SIZE ?
	       ilog2(THREAD_SIZE) : 0;
}

/* KEDR_REC_F_OWN_TASK: @addr inside current's struct task_struct. */
static __always_inline u8 kedr_own_task(unsigned long addr)
{
	return addr - (unsigned long)current < sizeof(struct task_struct) ?
	       KEDR_REC_F_OWN_TASK : 0;
}

/*
 * Room for one more record at @head, for the streams that read (busy
 * held). The exact answer is kedr_floor()'s (kedr_recorder.c): no room once
 * head - floor reaches kedr_rec_cap, and past kedr_room_limit the handlers
 * are asked to wait (kedr_want_room()). Computing it reads every stream's
 * tail, the subscriptions and the clock; this looks at a lower bound of the
 * floor instead, floor_lb, and computes the floor only when head + 1 -
 * floor_lb passes kedr_room_limit (then it refreshes floor_lb).
 *
 * Why a lower bound gives the same answers: the floor is 0 while no stream
 * is subscribed, otherwise the least tail of the subscribed streams that
 * have not stalled (or head if all have). floor_lb is 0, or the least tail
 * of ALL the subscribed streams, stalled or not, as read (acquire) when it
 * was computed, with kedr_subscribed read after the tails (floor_subs). A
 * tail only grows (readers move forward; kedr_subscribe() sets it once,
 * before the stream's bit), and a subscribed stream stays subscribed, so
 * while kedr_subscribed is still floor_subs, floor_lb <= every tail the
 * floor can take the least of, whatever has stalled or come back since,
 * hence floor_lb <= floor. A tail read before its stream's bit was set is
 * the 0 it had before kedr_subscribe(): lower still. A new subscription
 * changes kedr_subscribed, and then the floor is computed. So when head + 1
 * - floor_lb <= kedr_room_limit, head + 1 - floor <= kedr_room_limit
 * (< kedr_rec_cap): kedr_want_room() would not ask and the record would not
 * be dropped, exactly as with the floor itself; everything else goes the
 * exact way. The slot written, head % kedr_rec_cap, is one every stream
 * that reads was done with: its position head - kedr_rec_cap is below
 * floor_lb, below each tail read with acquire, which pairs with the
 * readers' release once they have copied the records below it. A
 * subscription racing with this event is seen no later than the exact way
 * sees it (one read of kedr_subscribed per event, as there).
 */
static __always_inline bool kedr_ring_room(struct kedr_cpu_buf *cb, u64 head)
{
	if (likely(READ_ONCE(kedr_subscribed) == cb->floor_subs &&
		   head + 1 - cb->floor_lb <= kedr_room_limit))
		return true;
	return kedr_ring_room_slow(cb, head);
}

/*
 * One event on this CPU, interrupts off (kedr_record_flags() and the
 * handlers of kedr_events.c). @mem: a memory event (@addr an address);
 * otherwise @addr is 0, no stack and no task_struct are there, so
 * stack_order and OWN_TASK are 0 without looking.
 */
static __always_inline void kedr_ring_record(u8 kind, u32 site,
					     unsigned long pc,
					     unsigned long addr, u32 size,
					     u8 rec_flags, bool mem)
{
	struct kedr_cpu_buf *cb;
	struct kedr_record *r;
	u64 seq, head;
	u32 wpos, last;

	/* Filtered out: no sequence number, counted apart (kedr_filter.c). */
	if (static_branch_unlikely(&kedr_filter_set) &&
	    !kedr_filter_check(kind, site, addr)) {
		kedr_filter_count_out();
		return;
	}
	/* xadd on this CPU's counter: atomic against an NMI here too. */
	seq = this_cpu_add_return(kedr_bufs.seq, 1) - 1;
	if (unlikely(this_cpu_inc_return(kedr_bufs.busy) != 1))
		goto drop;
	cb = this_cpu_ptr(&kedr_bufs);
	head = cb->head;
	/* Full for the streams that read: drop (see kedr_recorder.c). */
	if (unlikely(!kedr_ring_room(cb, head)))
		goto drop;

	WRITE_ONCE(cb->reserve, head + 1);
	/* Pairs with kedr_take()'s smp_rmb(): a changed slot means reserve. */
	smp_wmb();
	wpos = cb->wpos;
	r = &cb->recs[wpos];
	r->ts = cpu_to_le64(unlikely(kedr_is_sync(kind)) ?
			    kedr_sync_stamp(local_clock()) : local_clock());
	r->pc = cpu_to_le64(pc);
	r->addr = cpu_to_le64(addr);
	r->seq = cpu_to_le32((u32)seq);
	r->tid = cpu_to_le32(task_pid_nr(current));
	r->size = cpu_to_le32(size);
	r->site = cpu_to_le32(site);
	r->kind = kind;
	r->cpu_low = (u8)smp_processor_id();
	r->context = kedr_context();
	r->stack_order = mem ? kedr_stack_order(addr) : 0;
	/* flags, then the reserved bytes zeroed, in one little-endian store. */
	BUILD_BUG_ON(offsetof(struct kedr_record, reserved) !=
		     offsetof(struct kedr_record, flags) + 1 ||
		     sizeof(r->reserved) != 3);
	last = rec_flags | (mem ? kedr_own_task(addr) : 0);
	put_unaligned_le32(last, &r->flags);
	cb->wpos = wpos + 1 == kedr_rec_cap ? 0 : wpos + 1;
	/* The record is complete before a reader can see it. */
	smp_store_release(&cb->head, head + 1);
	this_cpu_dec(kedr_bufs.busy);
	return;
drop:
	kedr_ring_drop(site);
}

#endif /* KEDR_RING_H */
