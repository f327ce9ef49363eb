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
#include <asm/processor-flags.h>
#include <asm/smap.h>

#include "kedr_regs.inc"

.macro KEDR_INDIRECT reg
SYM_CODE_START(kedr_indirect_\reg)
	pushfq
	cli			/* popfq puts IF back (kedr_helpers.S does the same) */
	KEDR_PUSH_CLOBBERED
	movq %\reg, %rsi		/* the destination, before anything changes */
	/* the site's index, above the flags and the registers */
	movq (KEDR_CLOBBERED_BYTES + 8)(%rsp), %rdi
	cld
	KEDR_CLAC_IF_AC KEDR_CLOBBERED_BYTES
	call kedr_on_indirect
	KEDR_POP_CLOBBERED
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
