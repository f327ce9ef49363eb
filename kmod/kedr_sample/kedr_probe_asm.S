/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The probe helper (KEDR_HELPER_PROBE), entered from the copies as
 *	push $site
 *	call kedr_helper_probe
 * right before the copy of a probed instruction, where the stack is as the
 * original has it: the original's %rsp is 16(%rsp) on entry. It returns as
 * `ret $8` would, every register and the flags preserved.
 *
 * A site no enabled probe uses (kedr_probe_armed[site] == 0) costs a flag
 * test; otherwise a struct pt_regs is built on the stack and
 * kedr_on_probe(site, regs) called.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/segment.h>
#include <asm/smap.h>
#include <asm/unwind_hints.h>

/* struct pt_regs (asm/ptrace.h): r15 first, ss last; 21 words. */
#define KEDR_REGS_SIZE		(21 * 8)
/* From the top of the built pt_regs: its sp slot, and the site argument. */
#define KEDR_REGS_SP		(19 * 8)
#define KEDR_REGS_SITE		(KEDR_REGS_SIZE + 8)
/* The original's %rsp: past the return address and the site. */
#define KEDR_REGS_ORIG_SP	(KEDR_REGS_SIZE + 16)

/* Returns as `ret $8` would, through RET (return thunks); no flag changes. */
.macro KEDR_PROBE_RET8
	pushq %rax
	movq 8(%rsp), %rax
	movq %rax, 16(%rsp)
	popq %rax
	leaq 8(%rsp), %rsp
	UNWIND_HINT_FUNC
	RET
.endm

	.text

SYM_CODE_START(kedr_helper_probe)
	UNWIND_HINT_FUNC
	pushq $__KERNEL_DS		/* ss */
	pushq $0			/* sp, set below */
	pushfq				/* flags, before anything changes them */
	pushq %rax
	movl 40(%rsp), %eax		/* the site */
	cmpb $0, kedr_probe_armed(%rax)
	popq %rax
	jnz 1f
	popfq
	leaq 16(%rsp), %rsp
	KEDR_PROBE_RET8
1:
	pushq $__KERNEL_CS		/* cs */
	pushq $0			/* ip: kedr_on_probe() sets it */
	pushq $-1			/* orig_ax */
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rax
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	leaq KEDR_REGS_ORIG_SP(%rsp), %rax
	movq %rax, KEDR_REGS_SP(%rsp)
	movl KEDR_REGS_SITE(%rsp), %edi
	movq %rsp, %rsi
	/* C code relies on DF=0 and must not run with AC set (as kedr_helpers.S). */
	cld
	ASM_CLAC
	call kedr_on_probe
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rax
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	leaq 24(%rsp), %rsp		/* orig_ax, ip, cs */
	popfq
	leaq 16(%rsp), %rsp		/* sp, ss */
	KEDR_PROBE_RET8
SYM_CODE_END(kedr_helper_probe)
