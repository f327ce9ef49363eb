// SPDX-License-Identifier: GPL-2.0
/*
 * The C side of the string and bit-op helpers (kedr_helpers.S,
 * KEDR_HELPER_STRING_EVENT and KEDR_HELPER_BITOP_EVENT in kedr_blob.h).
 *
 * A string instruction (with or without REP) gives one event per operand it
 * uses, covering the bytes it actually touched, as told by how far %rsi and
 * %rdi moved; a zero count moves nothing and gives no event. A bit-string
 * instruction with a register bit offset (BT, BTS, BTR, BTC r, m) accesses
 * the operand-size unit that holds the bit (Intel SDM, BT: "Effective
 * Address + (4 * (BitOffset DIV 32))" for 32 bits, likewise for 16 and 64):
 * one event of the operand size at
 *	base + size * floor(offset / (8 * size))
 * the offset signed, sign-extended from the operand size.
 *
 * Same rules as kedr_events.c, whose nesting guard these share: any
 * context, interrupts off (the helpers' cli: not saved again here), never
 * sleeping, never nested on a CPU.
 */
#define pr_fmt(fmt) "kedr_sample: " fmt

#include <linux/compiler.h>
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <asm/processor-flags.h>

#include "kedr_blob.h"
#include "kedr_sample.h"

#define KEDR_SITE_STR_ALL \
	(KEDR_SITE_STR_SRC_READ | KEDR_SITE_STR_DST_READ | \
	 KEDR_SITE_STR_DST_WRITE)

/* The one place the handlers here hand an event to the recorder. */
static __always_inline void kedr_str_record(u8 kind, u32 site,
					    unsigned long pc,
					    unsigned long addr,
					    unsigned long size)
{
	kedr_record_irqs_off(kind, site, pc, addr, (u32)size);
}

/*
 * The bytes a string instruction touched through one pointer that moved
 * from @start to @end by elements of @elem bytes: upwards from @start if
 * DF=0, downwards from @start (so the range starts at @end + @elem) if DF=1.
 */
static __always_inline void kedr_string_range(u8 kind, u32 site,
					      unsigned long pc,
					      unsigned long start,
					      unsigned long end,
					      unsigned int elem, bool df,
					      unsigned long seg_base)
{
	unsigned long len = end > start ? end - start : start - end;

	if (!len)
		return;		/* zero count: nothing touched */
	kedr_str_record(kind, site, pc,
			(df ? end + elem : start) + seg_base,
			min_t(unsigned long, len, U32_MAX));
}

static __always_inline void
kedr_string_event(const struct kedr_blob *b, const unsigned long *func_addr,
		  u32 site, unsigned long src_start, unsigned long src_end,
		  unsigned long dst_start, unsigned long dst_end,
		  unsigned long eflags)
{
	const struct kedr_site *s;
	unsigned long pc, src_base = 0;
	bool df = eflags & X86_EFLAGS_DF;

	if (unlikely(site >= b->nr_sites)) {
		kedr_record_lost(1);
		return;
	}
	s = &b->sites[site];
	if (unlikely(s->kind != KEDR_EV_STRING || !s->size)) {
		kedr_record_lost(1);
		return;
	}
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return;
	/* Only [%rsi] can be %gs-relative: %es cannot be overridden. */
	if (s->flags & KEDR_SITE_GS)
		src_base = this_cpu_read(this_cpu_off);
	pc = func_addr[s->func] + s->offset;

	/* The source first (MOVS: read then write; CMPS: both reads). */
	if (s->flags & KEDR_SITE_STR_SRC_READ)
		kedr_string_range(KEDR_EV_READ, site, pc, src_start,
				  src_end, s->size, df, src_base);
	if (s->flags & KEDR_SITE_STR_DST_READ)
		kedr_string_range(KEDR_EV_READ, site, pc, dst_start,
				  dst_end, s->size, df, 0);
	if (s->flags & KEDR_SITE_STR_DST_WRITE)
		kedr_string_range(KEDR_EV_WRITE, site, pc, dst_start,
				  dst_end, s->size, df, 0);
}

/*
 * The events a string site gives for these pointers: one per operand it
 * uses whose pointer moved; none for a stack access that is not recorded;
 * one for an invalid site. For a handler that has to drop them.
 */
static __always_inline unsigned int
kedr_string_site_events(const struct kedr_blob *b, u32 site,
			unsigned long src_start, unsigned long src_end,
			unsigned long dst_start, unsigned long dst_end)
{
	const struct kedr_site *s;

	if (unlikely(!b || site >= b->nr_sites))
		return 1;
	s = &b->sites[site];
	if (unlikely(s->kind != KEDR_EV_STRING || !s->size))
		return 1;
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return 0;
	return ((s->flags & KEDR_SITE_STR_SRC_READ) && src_start != src_end) +
	       ((s->flags & KEDR_SITE_STR_DST_READ) && dst_start != dst_end) +
	       ((s->flags & KEDR_SITE_STR_DST_WRITE) && dst_start != dst_end);
}

/* The kinds a bit-op site may have (a locked one's second site included). */
static __always_inline bool kedr_bitop_kind(u8 kind)
{
	return kind == KEDR_EV_READ || kind == KEDR_EV_READ_WRITE ||
	       kind == KEDR_EV_LOCKED_UPDATE || kind == KEDR_EV_LOCKED_DONE;
}

/*
 * KEDR_HELPER_STRING_EVENT: the pointers before (@src_start, @dst_start)
 * and after (@src_end, @dst_end) the instruction, and its flags (DF).
 */
void notrace kedr_on_string_event(u32 site, unsigned long src_start,
				  unsigned long src_end,
				  unsigned long dst_start,
				  unsigned long dst_end, unsigned long eflags)
{
	const unsigned long *func_addr;
	const struct kedr_blob *b;

	kedr_record_room(eflags);
	if (likely(kedr_events_enter(&b, &func_addr)))
		kedr_string_event(b, func_addr, site, src_start, src_end,
				  dst_start, dst_end, eflags);
	else
		kedr_record_lost(kedr_string_site_events(b, site, src_start,
							 src_end, dst_start,
							 dst_end));
	kedr_events_leave();
}

static __always_inline void
kedr_bitop_event(const struct kedr_blob *b, const unsigned long *func_addr,
		 u32 site, unsigned long base, unsigned long offset)
{
	const struct kedr_site *s;
	unsigned long pc, addr;
	unsigned int shift;	/* log2 of the bits in a unit */
	long bit;

	if (unlikely(site >= b->nr_sites)) {
		kedr_record_lost(1);
		return;
	}
	s = &b->sites[site];
	/* The site's size is the operand size the offset is signed from. */
	switch (s->size) {
	case 2:
		bit = (s16)offset;
		shift = 4;
		break;
	case 4:
		bit = (s32)offset;
		shift = 5;
		break;
	case 8:
		bit = (long)offset;
		shift = 6;
		break;
	default:
		kedr_record_lost(1);
		return;
	}
	if (unlikely(!kedr_bitop_kind(s->kind))) {
		kedr_record_lost(1);
		return;
	}
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return;
	/*
	 * The unit holding the bit: an arithmetic shift rounds towards minus
	 * infinity (DIV in the SDM), so a negative offset reaches below the
	 * base, by whole units.
	 */
	addr = base + (bit >> shift) * (long)s->size;
	if (s->flags & KEDR_SITE_GS)
		addr += this_cpu_read(this_cpu_off);
	pc = func_addr[s->func] + s->offset;
	if (s->kind == KEDR_EV_READ_WRITE) {
		kedr_str_record(KEDR_EV_READ, site, pc, addr, s->size);
		kedr_str_record(KEDR_EV_WRITE, site, pc, addr, s->size);
	} else {
		kedr_str_record(s->kind, site, pc, addr, s->size);
	}
}

/* As kedr_string_site_events(), for a bit-op site. */
static __always_inline unsigned int
kedr_bitop_site_events(const struct kedr_blob *b, u32 site)
{
	const struct kedr_site *s;

	if (unlikely(!b || site >= b->nr_sites))
		return 1;
	s = &b->sites[site];
	if (unlikely((s->size != 2 && s->size != 4 && s->size != 8) ||
		     !kedr_bitop_kind(s->kind)))
		return 1;
	if ((s->flags & KEDR_SITE_SP) && !kedr_process_sp_accesses)
		return 0;
	return s->kind == KEDR_EV_READ_WRITE ? 2 : 1;
}

/* KEDR_HELPER_BITOP_EVENT: @base from the LEA, @offset the bit offset. */
void notrace kedr_on_bitop_event(u32 site, unsigned long base,
				 unsigned long offset, unsigned long caller_flags)
{
	const unsigned long *func_addr;
	const struct kedr_blob *b;

	kedr_record_room(caller_flags);
	if (likely(kedr_events_enter(&b, &func_addr)))
		kedr_bitop_event(b, func_addr, site, base, offset);
	else
		kedr_record_lost(kedr_bitop_site_events(b, site));
	kedr_events_leave();
}
