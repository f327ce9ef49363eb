/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The helpers the instrumented copies call (enum kedr_helper). Each is
 * entered as
 *	push $site_index
 *	call helper
 * and returns as `ret $8` would: to the caller, with the site index popped.
 * Every register and the flags are preserved: the copy may call a helper
 * between any two instructions of the original. The kernel is built with
 * -mno-red-zone, so the pushes here cannot clobber live data of the caller.
 *
 * The return is not a literal `ret $8`: the return address is moved over the
 * argument and the helper returns through RET, so return thunks apply here
 * as they do everywhere else in the kernel.
 *
 * A site whose events are all left out (a stack access not recorded, or
 * filtered out by kind or function: kedr_fast_sites[] says so) is jumped
 * over in the copy (kedr_jumps.c); with jump_left_out off it returns at
 * once, counted as filtered, before anything else is saved: such an event
 * costs a few instructions (KEDR_SKIP_LEFT_OUT). The string helper always
 * goes to C (its events depend on how far the pointers moved).
 *
 * The others disable interrupts here (cli after pushfq) and put them back
 * with the flags' popfq: the handlers run with interrupts off anyway, and
 * this way one popfq restores IF, DF, AC and the status flags together.
 * The handlers get the flags as they were (their last argument): one whose
 * CPU waits for kedr record to make room may turn interrupts on meanwhile
 * only if the interrupted code had them on (kedr_record_wait()).
 *
 * They are code, not C-ABI functions (SYM_CODE, entered with a function's
 * unwind state): DF may be set on entry, which objtool would not expect of a
 * function (it calls the cld "redundant"). objtool follows them all the same
 * and gives them ORC entries.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/processor-flags.h>
#include <asm/smap.h>
#include <asm/unwind_hints.h>

#include "kedr_regs.inc"

/* Stack on entry: 0(%rsp) return address, 8(%rsp) site index. */
#define KEDR_SAVED_BYTES	(8 + KEDR_CLOBBERED_BYTES)	/* flags, registers */
#define KEDR_SITE_ARG		(KEDR_SAVED_BYTES + 8)
/* After KEDR_SAVE: the caller's flags, pushed first. */
#define KEDR_SAVED_FLAGS	(KEDR_SAVED_BYTES - 8)
/* What the copy pushed before the site, for the string and bit-op helpers. */
#define KEDR_ARG1		(KEDR_SITE_ARG + 8)
#define KEDR_ARG2		(KEDR_SITE_ARG + 16)

/*
 * The fast path: a site whose events are all left out (kedr_fast_sites[],
 * kedr_filter.c: a stack access not recorded, or every event of the site
 * filtered out by kind or function) returns here, before anything else is
 * saved or disabled, having added what the site gives to this CPU's
 * filtered count (one xadd-free add to a per-CPU word: an interrupt or NMI
 * on this CPU comes before or after it, never inside). @depth: bytes pushed
 * since the entry. Jumps to @skipped with every register as on entry if the
 * site is left out; falls through otherwise. Changes the status flags.
 *
 * Only while jump_left_out is off: when it is on, the copies jump over the
 * calls of such sites (kedr_jumps.c), so a call that still comes here is
 * one made as the settings changed, and the C path decides the same for it
 * (kedr_filter.c: "The slow path decides the same for the same settings")
 * and counts it as filtered, unless it came nested (then dropped, as every
 * nested event); it may also wait for room first, as a recorded event
 * does. One compare instead of the look-up for every event that is
 * recorded.
 */
.macro KEDR_SKIP_LEFT_OUT depth, skipped
	cmpb $0, kedr_jump_left_out(%rip)
	jne 2f
	pushq %rax
	pushq %rcx
	movl (\depth + 24)(%rsp), %ecx		/* the site */
	cmpl kedr_fast_nr_sites(%rip), %ecx
	jae 1f
	movq kedr_fast_sites(%rip), %rax
	movzbl (%rax,%rcx), %eax
	subl $1, %eax				/* 0: not left out */
	jb 1f
	addq %rax, %gs:kedr_filtered(%rip)
	popq %rcx
	popq %rax
	jmp \skipped
1:	popq %rcx
	popq %rax
2:
.endm

/*
 * With the caller's flags pushed: interrupts off (the handlers run so,
 * and popfq puts IF back with the rest on return, where a C-side
 * local_irq_restore() would have needed an sti of its own), the registers
 * a C function may clobber, DF clear.
 */
.macro KEDR_SAVE_AFTER_FLAGS
	cli
	KEDR_PUSH_CLOBBERED
	/* C code relies on DF=0. */
	cld
	KEDR_CLAC_IF_AC KEDR_SAVED_FLAGS
.endm

.macro KEDR_SAVE
	pushfq
	KEDR_SAVE_AFTER_FLAGS
.endm

/* Returns as `ret $8` would; changes no flag. */
.macro KEDR_RET8
	pushq %rax
	movq 8(%rsp), %rax	/* return address */
	movq %rax, 16(%rsp)	/* over the site index */
	popq %rax
	leaq 8(%rsp), %rsp
	/*
	 * The return address is on top again, one word higher: a function's
	 * state as at entry, for objtool and the unwinder alike.
	 */
	UNWIND_HINT_FUNC
	RET
.endm

/*
 * The flags (IF, DF and AC included) as they were: one popfq. Returns as
 * KEDR_RET8 does, the return address moved over the site index while %rax
 * is still saved (no push and pop of its own).
 */
.macro KEDR_RESTORE_AND_RET8
	movq KEDR_SAVED_BYTES(%rsp), %rax	/* return address */
	movq %rax, KEDR_SITE_ARG(%rsp)		/* over the site index */
	KEDR_POP_CLOBBERED
	popfq
	/* No flags are changed from here on. */
	leaq 8(%rsp), %rsp
	/* As in KEDR_RET8. */
	UNWIND_HINT_FUNC
	RET
.endm

	.text

/*
 * Function entry or exit: kedr_on_func_event(site). Entries, returns and
 * tail calls are where the C ABI makes the status flags dead.
 */
SYM_CODE_START(kedr_helper_func_event)
	UNWIND_HINT_FUNC
	KEDR_SKIP_LEFT_OUT 0, .Lfunc_left_out
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	movq KEDR_SAVED_FLAGS(%rsp), %rsi
	call kedr_on_func_event
	KEDR_RESTORE_AND_RET8
.Lfunc_left_out:
	KEDR_RET8
SYM_CODE_END(kedr_helper_func_event)

/* Memory access at %rax where the status flags are dead. */
SYM_CODE_START(kedr_helper_mem_event_noflags)
	UNWIND_HINT_FUNC
	KEDR_SKIP_LEFT_OUT 0, .Lmem_noflags_left_out
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	movq %rax, %rsi
	movq KEDR_SAVED_FLAGS(%rsp), %rdx
	call kedr_on_mem_event
	KEDR_RESTORE_AND_RET8
.Lmem_noflags_left_out:
	KEDR_RET8
SYM_CODE_END(kedr_helper_mem_event_noflags)

/* Memory access at %rax: kedr_on_mem_event(site, rax). */
SYM_CODE_START(kedr_helper_mem_event)
	UNWIND_HINT_FUNC
	pushfq
	KEDR_SKIP_LEFT_OUT 8, .Lmem_left_out
	KEDR_SAVE_AFTER_FLAGS
	movl KEDR_SITE_ARG(%rsp), %edi
	movq %rax, %rsi
	movq KEDR_SAVED_FLAGS(%rsp), %rdx
	call kedr_on_mem_event
	KEDR_RESTORE_AND_RET8
.Lmem_left_out:
	popfq
	KEDR_RET8
SYM_CODE_END(kedr_helper_mem_event)

/*
 * After a string instruction: kedr_on_string_event(site, start %rsi,
 * end %rsi, start %rdi, end %rdi, flags). The copy pushed the start %rsi,
 * then the start %rdi, then the site: 8(%rsp) site, 16(%rsp) start %rdi,
 * 24(%rsp) start %rsi on entry. %rsi, %rdi and DF are the values after the
 * instruction; DF comes from the flags saved before KEDR_SAVE's cld. Only
 * the site is popped on return: the copy drops the start pointers itself.
 */
SYM_CODE_START(kedr_helper_string_event)
	UNWIND_HINT_FUNC
	KEDR_SAVE
	movq %rdi, %r8				/* end %rdi */
	movq %rsi, %rdx				/* end %rsi */
	movl KEDR_SITE_ARG(%rsp), %edi
	movq KEDR_ARG2(%rsp), %rsi		/* start %rsi */
	movq KEDR_ARG1(%rsp), %rcx		/* start %rdi */
	movq KEDR_SAVED_FLAGS(%rsp), %r9
	call kedr_on_string_event
	KEDR_RESTORE_AND_RET8
SYM_CODE_END(kedr_helper_string_event)

/*
 * BT, BTS, BTR, BTC with a register bit offset: kedr_on_bitop_event(site,
 * %rax, offset). The copy pushed %rax, then the offset register, put the
 * bit string's base in %rax, then pushed the site: 8(%rsp) site, 16(%rsp)
 * the offset register's value on entry. Only the site is popped on return.
 */
SYM_CODE_START(kedr_helper_bitop_event)
	UNWIND_HINT_FUNC
	pushfq
	KEDR_SKIP_LEFT_OUT 8, .Lbitop_left_out
	KEDR_SAVE_AFTER_FLAGS
	movl KEDR_SITE_ARG(%rsp), %edi
	movq %rax, %rsi				/* base */
	movq KEDR_ARG1(%rsp), %rdx		/* bit offset, as pushed */
	movq KEDR_SAVED_FLAGS(%rsp), %rcx
	call kedr_on_bitop_event
	KEDR_RESTORE_AND_RET8
.Lbitop_left_out:
	popfq
	KEDR_RET8
SYM_CODE_END(kedr_helper_bitop_event)
