// SPDX-License-Identifier: GPL-2.0
/*
 * Is any task inside the copies, or inside a payload's handler they called?
 * Asked at detach, once nothing enters them any more (ftrace_ops and
 * kprobes gone) and
 * synchronize_rcu_tasks() has returned, so that no task is still between an
 * entry and the copy, or preempted in a part of a copy it entered without
 * leaving a return address (CONFIG_PREEMPTION: a task may be preempted
 * anywhere).
 *
 * From then on a task can be in a copy only if it already was at its last
 * switch out: running in one (preempted, or woken up from a sleep in one)
 * or to return into one (asleep in a function a copy called: a blocked
 * read). So each task is looked at once while it is off the CPU: its stack,
 * walked with the kernel's unwinder (which knows the copies: kedr_tables.c
 * gives them ORC entries), must have no address inside the ranges given:
 * the copies, and the text of the payloads that may have claimed an import.
 * A copy's tail call through an import stub leaves no return address in
 * the copies: a handler it reached, asleep, is seen only in its payload's
 * text, which must not go (the payload's module reference is dropped at
 * detach) while a task will return into it. A task
 * cleared so stays cleared; tasks created later start outside (a new task
 * starts at ret_from_fork or its thread function, an original). As
 * livepatch's klp_check_stack() does, but without stack_trace_save_tsk_
 * reliable() and task_call_func(), which modules cannot call: the walk is
 * kept only if the task's context-switch counts and on_cpu are the same
 * after it as before (it did not run meanwhile), and an unwinder error, or
 * a walk that stops short of the top of the stack (an end mark in ORC:
 * a task preempted in a retpoline thunk, kedr_walked_whole()), counts as
 * "not known yet".
 *
 * The payloads' variadic trampolines (kedr_repl_<f>) and their
 * kedr_pre_<f> handlers are in the payload's core text like any handler:
 * a task preempted or asleep in one has an address there (%rip saved by
 * the interrupt, or the return address into the trampoline), and once the
 * trampoline has jumped to the original nothing returns into it.
 *
 * A task that stays inside (or on a CPU) past the bound makes detach fail
 * with -EBUSY; the caller says which function.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/unwind.h>

#include "kedr_attach.h"

enum kedr_seen { KEDR_CLEAR, KEDR_INSIDE, KEDR_UNKNOWN };

static unsigned long kedr_switches(struct task_struct *t)
{
	return READ_ONCE(t->nvcsw) + READ_ONCE(t->nivcsw);
}

bool kedr_in_ranges(const struct kedr_range *r, unsigned int nr,
		    unsigned long addr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (addr >= r[i].lo && addr < r[i].hi)
			return true;
	return false;
}

/*
 * Did the walk reach the top of @t's stack? ORC also ends a walk, without
 * an error, at code whose entry marks an end of stack (UNWIND_HINT_EMPTY)
 * anywhere in the stack: the kernel's retpoline thunks have one
 * (arch/x86/lib/retpoline.S), so a task preempted in
 * __x86_indirect_thunk_r11, which an import stub jumps to with a payload's
 * handler in %r11, shows nothing of the copies below nor of the handler it
 * is going to. A whole walk ends at the registers an entry from user mode
 * saved at the top (a user task) or at ret_from_fork's frame just below
 * them (a kernel thread, or a task that has not run yet).
 */
static bool kedr_walked_whole(struct task_struct *t, struct unwind_state *st)
{
	struct pt_regs *top = task_pt_regs(t);
	struct pt_regs *regs = unwind_get_entry_regs(st, NULL);

	if (regs)
		return regs == top && user_mode(regs);
	return unwind_done(st) && st->sp == (unsigned long)top;
}

/* Under rcu_read_lock(): a dead task's stack is freed after a grace period. */
static enum kedr_seen kedr_look(struct task_struct *t,
				const struct kedr_range *r, unsigned int nr,
				unsigned long *where)
{
	struct unwind_state st;
	enum kedr_seen seen = KEDR_CLEAR;
	unsigned long sw, addr, last = 0;

	if (READ_ONCE(t->exit_state) || (READ_ONCE(t->__state) & TASK_DEAD))
		return KEDR_CLEAR;
	/* Pairs with finish_task()'s release: its switch out is complete. */
	if (smp_load_acquire(&t->on_cpu))
		return KEDR_UNKNOWN;
	sw = kedr_switches(t);
	/* The counts before the stack (__schedule() counts, then switches). */
	smp_rmb();
	for (unwind_start(&st, t, NULL, NULL); !unwind_done(&st);
	     unwind_next_frame(&st)) {
		addr = unwind_get_return_address(&st);
		if (!addr)
			break;
		if (kedr_in_ranges(r, nr, addr)) {
			*where = addr;
			seen = KEDR_INSIDE;
			break;
		}
		last = addr;
	}
	if (seen == KEDR_CLEAR &&
	    (unwind_error(&st) || !kedr_walked_whole(t, &st))) {
		/* Where it stopped short: one of the ranges may be below. */
		if (!unwind_error(&st))
			*where = last;
		seen = KEDR_UNKNOWN;
	}
	/* The stack read before on_cpu and the counts are read again. */
	smp_rmb();
	if (READ_ONCE(t->on_cpu) || kedr_switches(t) != sw)
		return KEDR_UNKNOWN;
	return seen;
}

/*
 * Waits up to @timeout_ms for every task to be seen outside the @nr ranges.
 * 0, or -EBUSY with *where (an address inside, or 0: a task that was on a
 * CPU each time) and @comm/@pid of one task still not cleared.
 */
int kedr_wait_outside(const struct kedr_range *r, unsigned int nr,
		      unsigned int timeout_ms, unsigned long *where,
		      char *comm, pid_t *pid)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(timeout_ms);
	struct task_struct *g, *t, **left;
	unsigned int n, cap, i, k, who;
	int err;

again:
	*where = 0;
	n = 0;
	who = 0;
	err = 0;
	cap = 64;
	rcu_read_lock();
	for_each_process_thread(g, t)
		cap++;
	rcu_read_unlock();
	cap += cap / 2;
	left = kvmalloc_array(cap, sizeof(*left), GFP_KERNEL);
	if (!left)
		return -ENOMEM;

	/* Round one: every task but this one. */
	rcu_read_lock();
	for_each_process_thread(g, t) {
		unsigned long w = 0;

		if (t == current || kedr_look(t, r, nr, &w) == KEDR_CLEAR)
			continue;
		if (n == cap) {
			err = -EAGAIN;	/* more tasks than counted */
			break;
		}
		get_task_struct(t);
		left[n++] = t;
	}
	rcu_read_unlock();

	/* Then only those not cleared yet, until none is left. */
	while (!err && n) {
		if (time_after(jiffies, deadline)) {
			err = -EBUSY;
			break;
		}
		msleep(20);
		rcu_read_lock();
		for (i = 0, k = 0; i < n; i++) {
			unsigned long w = 0;

			if (kedr_look(left[i], r, nr, &w) == KEDR_CLEAR) {
				put_task_struct(left[i]);
				continue;
			}
			if (w) {
				*where = w;
				who = k;
			}
			left[k++] = left[i];
		}
		rcu_read_unlock();
		n = k;
		if (who >= n)
			who = 0;
	}
	if (n && err == -EBUSY) {
		strscpy(comm, left[who]->comm, TASK_COMM_LEN);
		*pid = task_pid_nr(left[who]);
	}
	for (i = 0; i < n; i++)
		put_task_struct(left[i]);
	kvfree(left);
	if (err == -EAGAIN)
		goto again;
	return err;
}
