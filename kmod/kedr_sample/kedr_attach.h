/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Attaching a blob to a live module, shared by the three files that do it:
 *
 * kedr_attach_check.c  is the live module the binary the blob was built
 *                      from (name, symbols, digests, noinstr, overlaps), and
 *                      can every jmp be written where the kernel will not
 *                      write later (live sites, entry jumps, landing pads)
 * kedr_attach_patch.c  the bytes: the image's fixups and live-patch slots,
 *                      how each original is entered, the entry jmps, the
 *                      int3s over the originals, the landing pads
 * kedr_attach.c        the lifecycle: attach (checks, then going live),
 *                      ftrace start and stop, init copies dropped at LIVE,
 *                      the copies retired at GOING; attach to a running
 *                      module and detach from it (kedr_live_syms.c,
 *                      kedr_kprobes.c, kedr_quiesce.c); detach from a
 *                      module attached at COMING (kedr_restore.c)
 *
 * Not for the rest of the loader: kedr_sample.h has the interface.
 */
#ifndef KEDR_ATTACH_H
#define KEDR_ATTACH_H

#include <linux/errno.h>
#include <linux/printk.h>
#include <linux/types.h>
#include <asm/text-patching.h>

#include "kedr_sample.h"

struct module;
struct mod_kallsyms;

/* Addresses [lo, hi): of code a task may be inside. */
struct kedr_range {
	unsigned long lo, hi;
};

/* How an original gets to its copy. */
enum kedr_entry_mode {
	KEDR_VIA_JMP = 0,	/* jmp at the entry, int3 over the rest */
	KEDR_VIA_FTRACE,	/* fentry site kept, int3 over the rest */
	KEDR_KEPT,		/* left as it is: its copy is not used */
};

/* A site in the original the kernel may rewrite after COMING. */
struct kedr_live_site {
	unsigned long addr;
	unsigned int len;
};

/* A jmp attaching wrote into an original: an entry or a landing pad. */
struct kedr_jmp {
	unsigned long addr, dest;
};

/* An indirect call site of the copies (kedr_indirect.c). */
struct kedr_ind_ret {
	u32 ret_offset;		/* in the code image, past the slot's call */
	u32 stub;		/* its stub's index */
};

/* What attaching works with; nothing here outlives kedr_attach(). */
struct kedr_attach_ctx {
	struct module *mod;
	const struct kedr_blob *b;
	const struct mod_kallsyms *ks;
	unsigned long *func_addr;
	u8 *masked;		/* scratch: 1 for each masked byte */
	u8 *image;		/* the code image being prepared */
	unsigned long place;	/* where the image will run */
	u8 *mode;		/* enum kedr_entry_mode of each function */
	struct kedr_live_site *sites;	/* sorted by address */
	unsigned int nr_sites;
	struct kedr_tables *tables;
	struct kedr_ftrace *ftrace;
	struct kedr_icpt *icpt;		/* kedr_intercept.h's, until started */
	/* kedr_indirect.c: stubs after the image, in kedr_area */
	u32 area_len;			/* bytes of kedr_area used from place */
	unsigned long ind_stubs_at;
	u8 *ind_stubs;
	unsigned long *ind_pc;
	u32 ind_n;
	struct kedr_ind_ret *ind_ret;	/* the calls, by return offset */
	u32 ind_nr_ret;
	/*
	 * Attaching to a module that runs already: symbol values from its
	 * .ko (kedr_live_syms.c), init functions gone (func_addr 0), the
	 * originals left intact, entered through ftrace and kprobes only.
	 */
	bool live;
	unsigned long *symval;	/* of each symbol the blob uses */
	/*
	 * At COMING, what is written into the core text, for a detach while
	 * the target runs (kedr_restore.c): a bit for each int3 byte of the
	 * bodies, and the jmps.
	 */
	unsigned long *body;
	struct kedr_jmp *jmps;
	unsigned int nr_jmps;
	struct kedr_kprobes *kprobes;
	struct kedr_jumps *jumps;	/* kedr_jumps.c's, until published */
};

/* One line saying why @c's module is left as it is. */
#define kedr_refuse(c, fmt, ...) \
	pr_err("%s: not instrumented: " fmt "\n", (c)->mod->name, ##__VA_ARGS__)

static inline bool kedr_fits_s32(s64 v)
{
	return v == (s64)(s32)v;
}

/* rel32 of an instruction of @insn_len bytes at @from, going to @to. */
static inline int kedr_rel32(unsigned long from, unsigned int insn_len,
			     unsigned long to, s32 *rel)
{
	s64 d = (s64)(to - (from + insn_len));

	if (!kedr_fits_s32(d))
		return -ERANGE;
	*rel = (s32)d;
	return 0;
}

/* kedr_attach_check.c, in the order kedr_attach() runs them */
int kedr_check_live(struct kedr_attach_ctx *c);
int kedr_check_noinstr(struct kedr_attach_ctx *c);
int kedr_check_digests(struct kedr_attach_ctx *c);
int kedr_collect_live_sites(struct kedr_attach_ctx *c);
int kedr_check_entry_jumps(struct kedr_attach_ctx *c);
int kedr_check_landing_pads(struct kedr_attach_ctx *c);
/* Marks the masked bytes of @f in c->masked[0, f->size). */
void kedr_mark_masks(struct kedr_attach_ctx *c, const struct kedr_func *f);
/* Does a live site overlap [start, start + len)? */
bool kedr_live_site_in(const struct kedr_attach_ctx *c, unsigned long start,
		       unsigned long len);

/* kedr_attach_patch.c */
/* The kernel's 2- and 5-byte NOPs (asm/nops.h), as jump labels use them. */
extern const u8 kedr_nop2[2];
extern const u8 kedr_nop5[5];
void kedr_plan_entries(struct kedr_attach_ctx *c, bool use_ftrace);
int kedr_apply_fixups(struct kedr_attach_ctx *c);
int kedr_fill_patches(struct kedr_attach_ctx *c);
void kedr_redirect(struct kedr_attach_ctx *c, u32 i, u8 *orig);
void kedr_write_landing_pads(struct kedr_attach_ctx *c,
			     const struct kedr_alias *core,
			     const struct kedr_alias *init);
/* Other CPUs must not run stale instructions from memory we rewrote. */
void kedr_sync_all_cores(void);

/*
 * kedr_import_stubs.c: the import stubs written into c->image and their
 * slots (prepare, may fail), dropped on failure (abort); kedr_payload.c:
 * handed to the payloads once attached (start, cannot fail), taken back at
 * GOING (stop).
 */
int kedr_intercept_prepare(struct kedr_attach_ctx *c);
void kedr_intercept_abort(struct kedr_attach_ctx *c);
void kedr_intercept_start(struct kedr_attach_ctx *c);
void kedr_intercept_stop(struct module *mod);
/*
 * Detaching while @mod runs: no new claims from here on; *@r (kmalloc'd,
 * @first free slots first) gets the text of every payload that may have
 * claimed an import of @mod, *@nr the ranges in all.
 */
int kedr_intercept_close(struct module *mod, unsigned int first,
			 struct kedr_range **r, unsigned int *nr);

/*
 * kedr_indirect.c: the filled slots holding indirect branches sent to
 * stubs that record them (prepare, after kedr_fill_patches(); may fail),
 * the stubs written with the image (publish), freed (free: always, at the
 * end of attaching; stop: after kedr_events_stop()).
 */
int kedr_indirect_prepare(struct kedr_attach_ctx *c);
void kedr_indirect_publish(struct kedr_attach_ctx *c,
			   const struct kedr_alias *area);
void kedr_indirect_free(struct kedr_attach_ctx *c);
void kedr_indirect_stop(void);
unsigned long kedr_indirect_call_pc(u32 ret_offset);
/* kedr_routing.c: where an indirect branch of the copies to @dest goes. */
unsigned long kedr_intercept_indirect(unsigned long dest);
/* kedr_payload.c: imports claimed now (the static call stubs test it). */
extern unsigned int kedr_any_claimed;
/* kedr_live_syms.c: c->symval and c->func_addr of a live module. */
int kedr_live_symbols(struct kedr_attach_ctx *c, const char *ko_name);

/* kedr_kprobes.c: kprobes sending addrs[i] to dests[i] (all or none). */
struct kedr_kprobes;
int kedr_kprobes_start(unsigned int n, const unsigned long *addrs,
		       const unsigned long *dests, struct kedr_kprobes **out);
void kedr_kprobes_arm(struct kedr_kprobes *k);
void kedr_kprobes_stop(struct kedr_kprobes *k);

/* kedr_poke.c: 5 bytes @insn for @addr; a CPU meeting its int3 goes to @via. */
#define KEDR_POKE_SIZE	JMP32_INSN_SIZE
struct kedr_poke {
	unsigned long addr, via;
	u8 insn[KEDR_POKE_SIZE];
};

/*
 * Instructions other CPUs may be running rewritten by text_poke_bp()'s
 * protocol, @p sorted by addr, every addr inside @w: the number of CPUs
 * sent on through an int3, or a negative error (nothing written then).
 */
int kedr_poke_text(const struct kedr_alias *w, const struct kedr_poke *p,
		   unsigned int n, unsigned int delay_ms);

/* kedr_restore.c: the originals of a target attached at COMING put back. */
void kedr_sort_jmps(struct kedr_jmp *jmps, unsigned int n);
int kedr_restore_originals(struct module *mod, const u8 *snap,
			   const unsigned long *body, const struct kedr_jmp *jmps,
			   unsigned int n);

/*
 * kedr_quiesce.c: every task seen outside the ranges [lo, hi), or -EBUSY
 * with *where inside one, or where a task's stack walk stopped short of
 * its top (outside them), or 0 (on a CPU).
 */
int kedr_wait_outside(const struct kedr_range *r, unsigned int nr,
		      unsigned int timeout_ms, unsigned long *where,
		      char *comm, pid_t *pid);
bool kedr_in_ranges(const struct kedr_range *r, unsigned int nr,
		    unsigned long addr);

#endif /* KEDR_ATTACH_H */
