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

/* Stack on entry: 0(%rsp) return address, 8(%rsp) site index. */
#define KEDR_SAVED_BYTES	(10 * 8)	/* flags and 9 registers */
#define KEDR_SITE_ARG		(KEDR_SAVED_BYTES + 8)
/* After KEDR_SAVE: the caller's flags, pushed first. */
#define KEDR_SAVED_FLAGS	(KEDR_SAVED_BYTES - 8)
/* What the copy pushed before the site, for the string and bit-op helpers. */
#define KEDR_ARG1		(KEDR_SITE_ARG + 8)
#define KEDR_ARG2		(KEDR_SITE_ARG + 16)

.macro KEDR_SAVE
	pushfq
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	/* C code relies on DF=0. */
	cld
	/*
	 * The copy may be inside a user-access region (after STAC): the
	 * handlers must not run with EFLAGS.AC set, or SMAP would not catch
	 * their stray user accesses (objtool forbids calls there for the
	 * same reason). Cleared as an exception entry does; the saved flags
	 * put AC back on return.
	 */
	ASM_CLAC
.endm

/* The registers KEDR_SAVE pushed, in reverse (the flags are left on the stack). */
.macro KEDR_RESTORE_REGS
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
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

.macro KEDR_RESTORE_AND_RET8
	KEDR_RESTORE_REGS
	popfq
	/* No flags are changed from here on. */
	KEDR_RET8
.endm

/*
 * As KEDR_RESTORE_AND_RET8 where the status flags are dead: popfq is slow,
 * so only DF is put back (std if it was set); the rest stay as C left them.
 * Inside a user-access region (AC was set) popfq all the same: it puts AC
 * back as the STAC left it, in a way objtool can follow.
 */
.macro KEDR_RESTORE_NOFLAGS_AND_RET8
	KEDR_RESTORE_REGS
	testl $X86_EFLAGS_AC, (%rsp)
	jnz 2f
	testl $X86_EFLAGS_DF, (%rsp)
	jz 1f
	std
1:	leaq 8(%rsp), %rsp	/* the saved flags */
	KEDR_RET8
2:	popfq
	KEDR_RET8
.endm

	.text

/*
 * Function entry or exit: kedr_on_func_event(site). Entries, returns and
 * tail calls are where the C ABI makes the status flags dead.
 */
SYM_CODE_START(kedr_helper_func_event)
	UNWIND_HINT_FUNC
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	call kedr_on_func_event
	KEDR_RESTORE_NOFLAGS_AND_RET8
SYM_CODE_END(kedr_helper_func_event)

/* Memory access at %rax where the status flags are dead. */
SYM_CODE_START(kedr_helper_mem_event_noflags)
	UNWIND_HINT_FUNC
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	movq %rax, %rsi
	call kedr_on_mem_event
	KEDR_RESTORE_NOFLAGS_AND_RET8
SYM_CODE_END(kedr_helper_mem_event_noflags)

/* Memory access at %rax: kedr_on_mem_event(site, rax). */
SYM_CODE_START(kedr_helper_mem_event)
	UNWIND_HINT_FUNC
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	movq %rax, %rsi
	call kedr_on_mem_event
	KEDR_RESTORE_AND_RET8
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
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	movq %rax, %rsi				/* base */
	movq KEDR_ARG1(%rsp), %rdx		/* bit offset, as pushed */
	call kedr_on_bitop_event
	KEDR_RESTORE_AND_RET8
SYM_CODE_END(kedr_helper_bitop_event)
