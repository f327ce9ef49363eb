// SPDX-License-Identifier: GPL-2.0
/*
 * Event calls jumped over: a site whose events are all left out whatever
 * the address (kedr_filter.c decides which) makes no call at all. Each
 * event call in the copies is
 *
 *	push $site		68 <imm32>	at F - 6 (F: the call's field)
 *	call helper		e8 <rel32>	at F - 1
 *
 * and such a site's push becomes `jmp F + 4` (eb 08): its first two bytes
 * change, nothing else. The rest of the push and the call stay as they
 * are: a CPU that did the push before the change still finds its call at
 * F - 1, and one in the helper returns to F + 4. The stack at F + 4 is what
 * it was at F - 6, so the ORC entries of the call hold for the jmp too.
 *
 * Before the copies run (kedr_jumps_publish(), at attach) the bytes are
 * written directly. After, the copies may be executing on any CPU, so the
 * two bytes change as text_poke_bp() would change them (it is not
 * exported on 6.1; kedr_poke.c does the same for 5-byte jmps), for all
 * the calls that change at once: an int3 over the first byte of each, all
 * CPUs serialized; the second bytes, serialized; the first bytes,
 * serialized. A CPU that meets one of the int3s meanwhile is sent past the
 * call by a die notifier (that event is left out, as it is under one of
 * the two settings), or back to the new first byte by kprobes if the int3
 * went away as it trapped (kprobe_int3_handler()). Three IPIs a change
 * whatever the number of calls.
 *
 * kedr_filter_mutex (kedr_filter_lock()) covers the live jumps and every
 * write: settings change under it, and the attachment publishes, drops the
 * init copies and stops under it.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/delay.h>
#include <linux/kdebug.h>
#include <linux/kernel.h>
#include <linux/kprobes.h>
#include <linux/notifier.h>
#include <linux/ptrace.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <asm/text-patching.h>
#include <asm/unaligned.h>

#include "kedr_blob.h"
#include "kedr_attach.h"

/* The bytes from the push to after the call. */
#define KEDR_CALL_LEN	(KEDR_CALL_FIELD + 4)
#define KEDR_PUSH_IMM32	0x68

struct kedr_jump_call {
	u32 at;		/* the push, in the code image */
	u32 site;
};

struct kedr_jumps {
	const struct kedr_blob *blob;
	unsigned long place;
	u32 n;
	struct kedr_jump_call *calls;	/* sorted by at */
	unsigned long *out;	/* jumped over now */
	unsigned long *gone;	/* in an init copy that is gone */
	unsigned long *poking;	/* scratch: addresses of one change, sorted */
};

/* The one in the copies, or NULL; under kedr_filter_lock(). */
static struct kedr_jumps *kedr_jumps_live;

/* The addresses being changed, for the int3 handler. */
struct kedr_jumps_poke {
	struct notifier_block nb;
	const unsigned long *addr;	/* sorted */
	unsigned int n;
	atomic_t hits;
};

static int notrace kedr_jumps_int3(struct notifier_block *nb,
				   unsigned long val, void *data)
{
	struct kedr_jumps_poke *p = container_of(nb, struct kedr_jumps_poke, nb);
	struct pt_regs *regs = ((struct die_args *)data)->regs;
	unsigned long at = regs->ip - INT3_INSN_SIZE;
	u32 lo;

	if (val != DIE_INT3 || user_mode(regs))
		return NOTIFY_DONE;
	lo = kedr_lower_bound(p->n, i, p->addr[i], at);
	if (lo == p->n || p->addr[lo] != at)
		return NOTIFY_DONE;
	/* Past the call, as the jmp goes: the event left out. */
	regs->ip = at + KEDR_CALL_LEN;
	atomic_inc(&p->hits);
	return NOTIFY_STOP;
}
NOKPROBE_SYMBOL(kedr_jumps_int3);

/* The first two bytes of call @c, jumped over (@out) or not. */
static void kedr_jump_bytes(const struct kedr_jump_call *c, bool out, u8 *b)
{
	if (out) {
		b[0] = JMP8_INSN_OPCODE;
		b[1] = KEDR_CALL_LEN - JMP8_INSN_SIZE;
	} else {
		b[0] = KEDR_PUSH_IMM32;
		b[1] = (u8)c->site;
	}
}

static int kedr_jump_call_cmp(const void *a, const void *b)
{
	const struct kedr_jump_call *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

static bool kedr_is_event_helper(u32 index)
{
	switch (index) {
	case KEDR_HELPER_FUNC_EVENT:
	case KEDR_HELPER_MEM_EVENT:
	case KEDR_HELPER_STRING_EVENT:
	case KEDR_HELPER_BITOP_EVENT:
	case KEDR_HELPER_MEM_EVENT_NOFLAGS:
		return true;
	default:
		return false;	/* probes are not events */
	}
}

void kedr_jumps_free(struct kedr_jumps *j)
{
	if (!j)
		return;
	kvfree(j->calls);
	bitmap_free(j->out);
	bitmap_free(j->gone);
	kvfree(j->poking);
	kfree(j);
	kedr_obj_gone();
}

/*
 * The event calls of @b's image, to run at @place. Changes nothing; the
 * attachment publishes or frees them.
 */
int kedr_jumps_prepare(const struct kedr_blob *b, unsigned long place,
		       struct kedr_jumps **out)
{
	struct kedr_jumps *j;
	u32 i, n = 0;

	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	kedr_obj_new();
	j->blob = b;
	j->place = place;
	j->calls = kvmalloc_array(max(b->nr_fixups, 1U), sizeof(*j->calls),
				  GFP_KERNEL);
	if (!j->calls)
		goto nomem;
	for (i = 0; i < b->nr_fixups; i++) {
		const struct kedr_fixup *x = &b->fixups[i];
		u32 at = x->offset - KEDR_CALL_FIELD, site;

		/* The blob reader checked the field is inside the image. */
		if (x->target != KEDR_TARGET_HELPER ||
		    !kedr_is_event_helper(x->index) ||
		    x->offset < KEDR_CALL_FIELD ||
		    b->code[at] != KEDR_PUSH_IMM32 ||
		    b->code[x->offset - 1] != CALL_INSN_OPCODE)
			continue;
		site = get_unaligned_le32(&b->code[at + 1]);
		if (site >= b->nr_sites)
			continue;	/* the handler counts it as lost */
		j->calls[n].at = at;
		j->calls[n++].site = site;
	}
	j->n = n;
	sort(j->calls, n, sizeof(*j->calls), kedr_jump_call_cmp, NULL);
	j->out = bitmap_zalloc(max(n, 1U), GFP_KERNEL);
	j->gone = bitmap_zalloc(max(n, 1U), GFP_KERNEL);
	j->poking = kvmalloc_array(max(n, 1U), sizeof(*j->poking), GFP_KERNEL);
	if (!j->out || !j->gone || !j->poking)
		goto nomem;
	*out = j;
	return 0;
nomem:
	kedr_jumps_free(j);
	return -ENOMEM;
}

/*
 * The copies of @j were just written at @area and nothing runs them yet:
 * the calls of the sites left out by the settings in effect are jumped
 * over with plain stores, and @j is the live one (kedr_jumps_stop() frees
 * it). Cannot fail: without the memory to decide, every call stays (the
 * helpers skip those sites, slower).
 */
void kedr_jumps_publish(struct kedr_jumps *j, const struct kedr_alias *area)
{
	unsigned long *want;
	u32 i;

	kedr_filter_lock();
	want = kedr_filter_jump_sites();
	for (i = 0; want && i < j->n; i++) {
		if (!test_bit(j->calls[i].site, want))
			continue;
		kedr_jump_bytes(&j->calls[i], true,
				kedr_alias(area, j->place + j->calls[i].at));
		__set_bit(i, j->out);
	}
	bitmap_free(want);
	kedr_jumps_live = j;
	kedr_filter_unlock();
}

/*
 * Every live call jumped over where @want has its site, and back where it
 * has not, while the copies may run. Under kedr_filter_lock(). Fails (with
 * nothing changed) only if the copies cannot be mapped for writing.
 */
int kedr_jumps_update(const unsigned long *want)
{
	struct kedr_jumps *j = kedr_jumps_live;
	struct kedr_jumps_poke p = {
		/* Early in the die chain, as in kedr_poke.c. */
		.nb = { .notifier_call = kedr_jumps_int3, .priority = INT_MAX },
	};
	struct kedr_alias area = {};
	unsigned int n = 0, back = 0, k;
	u32 i;
	u8 b[2];
	int err;

	if (!j)
		return 0;
	for (i = 0; i < j->n; i++) {
		bool out = test_bit(j->calls[i].site, want);

		if (test_bit(i, j->gone) || out == test_bit(i, j->out))
			continue;
		j->poking[n++] = j->place + j->calls[i].at;
		back += !out;
	}
	if (!n)
		return 0;
	err = kedr_alias_map(&area, j->place, j->blob->code_size);
	if (err) {
		pr_err("filter: the copies cannot be mapped for writing (%d): settings unchanged\n",
		       err);
		return err;
	}
	p.addr = j->poking;
	p.n = n;
	err = register_die_notifier(&p.nb);
	if (err) {
		pr_err("filter: no die notifier (%d): settings unchanged\n",
		       err);
		goto out;
	}
	for (k = 0; k < n; k++)
		WRITE_ONCE(*kedr_alias(&area, j->poking[k]), INT3_INSN_OPCODE);
	kedr_sync_all_cores();
	/* Tests: CPUs running the copies meet the int3s meanwhile. */
	if (kedr_restore_delay_ms)
		msleep(min(kedr_restore_delay_ms, 10000U));
	for (i = 0, k = 0; i < j->n && k < n; i++) {
		if (j->place + j->calls[i].at != j->poking[k])
			continue;
		kedr_jump_bytes(&j->calls[i], test_bit(j->calls[i].site, want),
				b);
		WRITE_ONCE(*kedr_alias(&area, j->poking[k++] + 1), b[1]);
	}
	kedr_sync_all_cores();
	for (i = 0, k = 0; i < j->n && k < n; i++) {
		bool out;

		if (j->place + j->calls[i].at != j->poking[k])
			continue;
		out = test_bit(j->calls[i].site, want);
		kedr_jump_bytes(&j->calls[i], out, b);
		WRITE_ONCE(*kedr_alias(&area, j->poking[k++]), b[0]);
		__assign_bit(i, j->out, out);
	}
	kedr_sync_all_cores();
	unregister_die_notifier(&p.nb);
	pr_info("filter: %u event calls jumped over, %u back (int3 met %u times meanwhile)\n",
		n - back, back, atomic_read(&p.hits));
out:
	kedr_alias_unmap(&area);
	return err;
}

/*
 * The init copies go (kedr_attach_live(), before they become int3s):
 * their calls are left as they are from now on.
 */
void kedr_jumps_drop_init(void)
{
	struct kedr_jumps *j;
	u32 i, f;

	kedr_filter_lock();
	j = kedr_jumps_live;
	for (f = 0; j && f < j->blob->nr_funcs; f++) {
		const struct kedr_func *fn = &j->blob->funcs[f];

		if (!(fn->flags & KEDR_FUNC_INIT))
			continue;
		for (i = 0; i < j->n; i++)
			if (j->calls[i].at - fn->copy_offset < fn->copy_size)
				__set_bit(i, j->gone);
	}
	kedr_filter_unlock();
}

/* The copies are retired or were never entered: nothing more written. */
void kedr_jumps_stop(void)
{
	struct kedr_jumps *j;

	kedr_filter_lock();
	j = kedr_jumps_live;
	kedr_jumps_live = NULL;
	kedr_filter_unlock();
	kedr_jumps_free(j);
}
