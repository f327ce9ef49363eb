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
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "kedr_blob.h"
#include "kedr_record.h"
#include "kedr_ring.h"
#include "kedr_sample.h"

/*
 * A site of the blob as the memory and function handlers need it: one
 * indexed load instead of a chain through the blob's sites, funcs and the
 * functions' live addresses. Built at kedr_events_start() (the addresses
 * are fixed by then) for every site of the blob, whatever its kind: the
 * handlers check the kind as they did the blob's.
 */
struct kedr_hot_site {
	/* The instruction's address, or the function's (entry, exit). */
	unsigned long pc;
	u16 size;
	u8 kind;
	u8 flags;		/* KEDR_SITE_* */
};

struct kedr_events {
	const struct kedr_blob *blob;
	const unsigned long *func_addr;	/* live address of each function */
	const struct kedr_hot_site *hot;	/* nr_sites entries */
	u32 nr_sites;
};

static struct kedr_events kedr_ev;
/* From kedr_events_init() to kedr_events_exit(), one entry a site. */
static struct kedr_hot_site *kedr_hot;
static u32 kedr_hot_nr;
/* &kedr_ev while a target is attached; read with interrupts off. */
static struct kedr_events __rcu *kedr_ev_live;
static DEFINE_PER_CPU(unsigned int, kedr_ev_nesting);

/* At kedr_sample's init, for the blob it will attach. */
int kedr_events_init(const struct kedr_blob *blob)
{
	kedr_hot = kvcalloc(max(blob->nr_sites, 1U), sizeof(*kedr_hot),
			    GFP_KERNEL);
	if (!kedr_hot)
		return -ENOMEM;
	kedr_hot_nr = blob->nr_sites;
	return 0;
}

/* At kedr_sample's exit (or its init's failure): no handler runs. */
void kedr_events_exit(void)
{
	kvfree(kedr_hot);
	kedr_hot = NULL;
	kedr_hot_nr = 0;
}

/*
 * Called before the copies can run, once the handlers of an earlier
 * attachment are done (kedr_events_stop()): kedr_hot is not read meanwhile.
 * @blob is the one kedr_events_init() was given (its sites counted there).
 */
void kedr_events_start(const struct kedr_blob *blob,
		       const unsigned long *func_addr)
{
	u32 i, n = min(blob->nr_sites, kedr_hot_nr);

	for (i = 0; i < n; i++) {
		const struct kedr_site *s = &blob->sites[i];
		struct kedr_hot_site *h = &kedr_hot[i];

		h->kind = s->kind;
		h->flags = s->flags;
		h->size = s->size;
		/* A validated blob: s->func and its owner are functions. */
		if (s->kind == KEDR_EV_ENTRY || s->kind == KEDR_EV_EXIT)
			h->pc = func_addr[blob->funcs[s->func].owner];
		else
			h->pc = func_addr[s->func] + s->offset;
	}
	kedr_ev.blob = blob;
	kedr_ev.func_addr = func_addr;
	kedr_ev.hot = kedr_hot;
	kedr_ev.nr_sites = n;
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

/* Is @site one of @ev's (a target attached)? */
static __always_inline bool kedr_site_ok(const struct kedr_events *ev,
					 u32 site)
{
	return likely(ev && site < ev->nr_sites);
}

static __always_inline void kedr_func_event(const struct kedr_events *ev,
					    u32 site)
{
	const struct kedr_hot_site *s;

	if (unlikely(!kedr_site_ok(ev, site)))
		goto lost;
	s = &ev->hot[site];
	if (unlikely(s->kind != KEDR_EV_ENTRY && s->kind != KEDR_EV_EXIT))
		goto lost;
	kedr_ring_record(s->kind, site, s->pc, 0, 0, 0, false);
	return;
lost:
	kedr_record_lost(1);
}

/*
 * Memory sites: reads, writes, locked updates, read-writes, and the second
 * report of a locked update after its instruction ran (KEDR_EV_LOCKED_DONE,
 * recorded as it is: its record is stamped from the shared clock after the
 * update took effect, the acquire side for the race detector).
 */
static __always_inline bool kedr_is_mem_site(const struct kedr_hot_site *s)
{
	return (s->kind >= KEDR_EV_READ && s->kind <= KEDR_EV_READ_WRITE) ||
	       s->kind == KEDR_EV_LOCKED_DONE;
}

/*
 * The events a memory site gives: two for a read-write, none for a stack
 * access that is not recorded, one otherwise (an invalid site included).
 */
static __always_inline unsigned int
kedr_mem_site_events(const struct kedr_events *ev, u32 site)
{
	const struct kedr_hot_site *s;

	if (unlikely(!kedr_site_ok(ev, site)))
		return 1;
	s = &ev->hot[site];
	if (unlikely(!kedr_is_mem_site(s)))
		return 1;
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return 0;
	return s->kind == KEDR_EV_READ_WRITE ? 2 : 1;
}

static __always_inline void kedr_mem_event(const struct kedr_events *ev,
					   u32 site, unsigned long addr)
{
	const struct kedr_hot_site *s;
	u8 kind, flags = 0;

	if (unlikely(!kedr_site_ok(ev, site)))
		goto lost;
	s = &ev->hot[site];
	if (unlikely(!kedr_is_mem_site(s)))
		goto lost;
	/* Stack accesses are recorded only on request (seed semantics). */
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return;
	if (s->flags & KEDR_SITE_GS) {
		addr += this_cpu_read(this_cpu_off);
		flags = KEDR_REC_F_PERCPU;
	}
	kind = s->kind;
	if (kind == KEDR_EV_READ_WRITE) {
		kedr_ring_record(KEDR_EV_READ, site, s->pc, addr, s->size,
				 flags, true);
		kind = KEDR_EV_WRITE;
	}
	kedr_ring_record(kind, site, s->pc, addr, s->size, flags, true);
	return;
lost:
	kedr_record_lost(1);
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
		kedr_record_lost(kedr_mem_site_events(ev, site));
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
