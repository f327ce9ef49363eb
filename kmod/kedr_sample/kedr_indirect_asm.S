/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Indirect-branch helpers (kedr_indirect.c), one per register: entered by a
 * jmp from a site's stub, with the site's index pushed on top of what the
 * branch left (an indirect call's return address, nothing for a jmp).
 * Records the branch (kedr_on_indirect(index, destination)), preserving
 * every register and the flags, drops the index and goes on through the
 * kernel's retpoline thunk for that register, as the original branch did.
 */
#include <linux/linkage.h>
#include <asm/smap.h>

.macro KEDR_INDIRECT reg
SYM_CODE_START(kedr_indirect_\reg)
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
	movq %\reg, %rsi		/* the destination, before anything changes */
	movq 80(%rsp), %rdi		/* the site's index */
	cld
	ASM_CLAC
	call kedr_on_indirect
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
	leaq 8(%rsp), %rsp		/* the index; no flag changes */
	jmp __x86_indirect_thunk_\reg
SYM_CODE_END(kedr_indirect_\reg)
.endm

	.text
KEDR_INDIRECT rax
KEDR_INDIRECT rcx
KEDR_INDIRECT rdx
KEDR_INDIRECT rbx
KEDR_INDIRECT rbp
KEDR_INDIRECT rsi
KEDR_INDIRECT rdi
KEDR_INDIRECT r8
KEDR_INDIRECT r9
KEDR_INDIRECT r10
KEDR_INDIRECT r11
KEDR_INDIRECT r12
KEDR_INDIRECT r13
KEDR_INDIRECT r14
KEDR_INDIRECT r15
