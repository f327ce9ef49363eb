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
 */
#include <linux/linkage.h>
#include <asm/asm.h>

/* Stack on entry: 0(%rsp) return address, 8(%rsp) site index. */
#define KEDR_SAVED_BYTES	(10 * 8)	/* flags and 9 registers */
#define KEDR_SITE_ARG		(KEDR_SAVED_BYTES + 8)

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
.endm

.macro KEDR_RESTORE_AND_RET8
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	popfq
	/* No flags are changed from here on. */
	pushq %rax
	movq 8(%rsp), %rax	/* return address */
	movq %rax, 16(%rsp)	/* over the site index */
	popq %rax
	leaq 8(%rsp), %rsp
	RET
.endm

	.text

/* Function entry or exit: kedr_on_func_event(site). */
SYM_FUNC_START(kedr_helper_func_event)
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	call kedr_on_func_event
	KEDR_RESTORE_AND_RET8
SYM_FUNC_END(kedr_helper_func_event)

/* Memory access at %rax: kedr_on_mem_event(site, rax). */
SYM_FUNC_START(kedr_helper_mem_event)
	KEDR_SAVE
	movl KEDR_SITE_ARG(%rsp), %edi
	movq %rax, %rsi
	call kedr_on_mem_event
	KEDR_RESTORE_AND_RET8
SYM_FUNC_END(kedr_helper_mem_event)
