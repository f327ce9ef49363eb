// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the helpers (kedr_helpers.S): turns a site index into an
 * event about the ORIGINAL code and hands it to the recorder.
 *
 * The handlers can be called in any context (process, softirq, hardirq, NMI)
 * with or without interrupts enabled in the code that made the event. The
 * helpers call them with interrupts off (their cli; the saved flags are
 * restored by the helper's popfq), so they do not save them again. They
 * never sleep, and never nest on a CPU: an event that arrives while the CPU
 * is in a handler already (an NMI, or target code reached from the handler
 * itself) is counted as dropped instead: as many events as it would have
 * given. The one exception comes first, before any of that: where the
 * interrupted code could be preempted, a handler may wait for kedr record
 * to make room in the ring, with interrupts on, and returns with them off
 * (kedr_record_room(), kedr_recorder.c). The memory and function handlers
 * write their records inline (kedr_ring_record(), kedr_ring.h); an NMI that
 * comes in the middle of one finds the nesting guard taken.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/compiler.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "kedr_blob.h"
#include "kedr_record.h"
#include "kedr_ring.h"
#include "kedr_sample.h"

struct kedr_events {
	const struct kedr_blob *blob;
	const unsigned long *func_addr;	/* live address of each function */
};

static struct kedr_events kedr_ev;
/* &kedr_ev while a target is attached; read with interrupts off. */
static struct kedr_events __rcu *kedr_ev_live;
static DEFINE_PER_CPU(unsigned int, kedr_ev_nesting);

/* Called before the copies can run. */
void kedr_events_start(const struct kedr_blob *blob,
		       const unsigned long *func_addr)
{
	kedr_ev.blob = blob;
	kedr_ev.func_addr = func_addr;
	kedr_recorder_start();
	kedr_probes_attach(func_addr);
	rcu_assign_pointer(kedr_ev_live, &kedr_ev);
}

/* Called once the copies cannot run any more; may sleep. */
void kedr_events_stop(void)
{
	RCU_INIT_POINTER(kedr_ev_live, NULL);
	kedr_probes_detach();
	/*
	 * Handlers run with interrupts off from their look at kedr_ev_live
	 * on (a wait for room comes before it): an RCU read-side section.
	 */
	synchronize_rcu();
	/* Every event is in the recorder: readers may see the end. */
	kedr_recorder_stop();
}

static __always_inline const struct kedr_site *
kedr_site_of(const struct kedr_events *ev, u32 site)
{
	if (unlikely(!ev || site >= ev->blob->nr_sites))
		return NULL;
	return &ev->blob->sites[site];
}

static __always_inline void kedr_func_event(const struct kedr_events *ev,
					    u32 site)
{
	const struct kedr_site *s = kedr_site_of(ev, site);
	u32 owner;

	if (unlikely(!s || (s->kind != KEDR_EV_ENTRY &&
			    s->kind != KEDR_EV_EXIT))) {
		kedr_record_lost(1);
		return;
	}
	owner = ev->blob->funcs[s->func].owner;
	kedr_ring_record(s->kind, site, ev->func_addr[owner], 0, 0, 0, false);
}

/*
 * Memory sites: reads, writes, locked updates, read-writes, and the second
 * report of a locked update after its instruction ran (KEDR_EV_LOCKED_DONE,
 * recorded as it is: its record is stamped from the shared clock after the
 * update took effect, the acquire side for the race detector).
 */
static __always_inline bool kedr_is_mem_site(const struct kedr_site *s)
{
	return (s->kind >= KEDR_EV_READ && s->kind <= KEDR_EV_READ_WRITE) ||
	       s->kind == KEDR_EV_LOCKED_DONE;
}

/*
 * The events a memory site gives: two for a read-write, none for a stack
 * access that is not recorded, one otherwise (an invalid site included).
 */
static __always_inline unsigned int
kedr_mem_site_events(const struct kedr_site *s)
{
	if (unlikely(!s || !kedr_is_mem_site(s)))
		return 1;
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return 0;
	return s->kind == KEDR_EV_READ_WRITE ? 2 : 1;
}

static __always_inline void kedr_mem_event(const struct kedr_events *ev,
					   u32 site, unsigned long addr)
{
	const struct kedr_site *s = kedr_site_of(ev, site);
	unsigned long pc;
	u8 kind, flags = 0;

	if (unlikely(!s || !kedr_is_mem_site(s))) {
		kedr_record_lost(1);
		return;
	}
	/* Stack accesses are recorded only on request (seed semantics). */
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return;
	if (s->flags & KEDR_SITE_GS) {
		addr += this_cpu_read(this_cpu_off);
		flags = KEDR_REC_F_PERCPU;
	}
	pc = ev->func_addr[s->func] + s->offset;
	kind = s->kind;
	if (kind == KEDR_EV_READ_WRITE) {
		kedr_ring_record(KEDR_EV_READ, site, pc, addr, s->size, flags,
				 true);
		kind = KEDR_EV_WRITE;
	}
	kedr_ring_record(kind, site, pc, addr, s->size, flags, true);
}

/*
 * stack_events=N: a stack trace from inside each of the next N handlers, which
 * the unwinder can only give through the ORC entries of the copy's helper
 * call. Tests set it; 0 costs one read.
 */
static void notrace kedr_maybe_dump_stack(void)
{
	unsigned int n = READ_ONCE(kedr_stack_events);

	if (likely(!n) || cmpxchg(&kedr_stack_events, n, n - 1) != n)
		return;
	dump_stack();
}

/*
 * KEDR_HELPER_FUNC_EVENT; @caller_flags: the flags of the code it ran in.
 * Interrupts off (the helper's cli).
 */
void notrace kedr_on_func_event(u32 site, unsigned long caller_flags)
{
	const struct kedr_events *ev;

	kedr_record_room(caller_flags);
	ev = rcu_dereference_sched(kedr_ev_live);
	if (likely(this_cpu_inc_return(kedr_ev_nesting) == 1)) {
		kedr_maybe_dump_stack();
		kedr_func_event(ev, site);
	} else {
		kedr_record_lost(1);
	}
	this_cpu_dec(kedr_ev_nesting);
}

/*
 * KEDR_HELPER_MEM_EVENT: @addr is what the copy put in %rax. Interrupts
 * off (the helper's cli).
 */
void notrace kedr_on_mem_event(u32 site, unsigned long addr,
			       unsigned long caller_flags)
{
	const struct kedr_events *ev;

	kedr_record_room(caller_flags);
	ev = rcu_dereference_sched(kedr_ev_live);
	if (likely(this_cpu_inc_return(kedr_ev_nesting) == 1)) {
		kedr_maybe_dump_stack();
		kedr_mem_event(ev, site, addr);
	} else {
		/* Nested: every event the site would have given is dropped. */
		kedr_record_lost(kedr_mem_site_events(kedr_site_of(ev, site)));
	}
	this_cpu_dec(kedr_ev_nesting);
}

/*
 * For the handlers in other files (kedr_string_events.c), which share the
 * nesting guard: with interrupts off, enter this CPU's handler slot. True
 * if entered with a target attached. Either way *blob and *func_addr are
 * the live ones, or NULL if no target is attached, so that a nested
 * handler can count the events it drops. Always paired with
 * kedr_events_leave().
 */
bool notrace kedr_events_enter(const struct kedr_blob **blob,
			       const unsigned long **func_addr)
{
	const struct kedr_events *ev = rcu_dereference_sched(kedr_ev_live);
	bool first = this_cpu_inc_return(kedr_ev_nesting) == 1;

	*blob = ev ? ev->blob : NULL;
	*func_addr = ev ? ev->func_addr : NULL;
	return first && ev;
}

void notrace kedr_events_leave(void)
{
	this_cpu_dec(kedr_ev_nesting);
}
