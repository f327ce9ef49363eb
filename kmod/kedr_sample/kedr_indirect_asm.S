/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Indirect-branch helpers (kedr_indirect.c), one per register: entered by a
 * jmp from a site's stub, with the site's index pushed on top of what the
 * branch left (an indirect call's return address, nothing for a jmp).
 * Records the branch (kedr_on_indirect(index, destination, &saved)),
 * preserving every register and the flags, drops the index and goes on
 * through the kernel's retpoline thunk for that register, as the original
 * branch did; to a payload's handler instead when kedr_on_indirect() put
 * one in the register's saved copy (a kernel function a payload claims).
 *
 * While the filter leaves the indirect kind out and no payload claims an
 * import (kedr_indirect_left_out, kedr_any_claimed), kedr_on_indirect()
 * would only count the event as filtered and return the destination: the
 * helper does that itself, with the flags saved around its compares and
 * its one per-CPU add (atomic against an interrupt or NMI on this CPU),
 * and goes on to the thunk (a few instructions instead of the C path).
 */
#include <linux/linkage.h>
#include <asm/processor-flags.h>
#include <asm/smap.h>

#include "kedr_regs.inc"

.macro KEDR_INDIRECT reg
SYM_CODE_START(kedr_indirect_\reg)
	pushfq
	cmpb $0, kedr_indirect_left_out(%rip)
	je 1f
	cmpl $0, kedr_any_claimed(%rip)
	jne 1f
	incq %gs:kedr_filtered(%rip)
	popfq
	leaq 8(%rsp), %rsp		/* the index; no flag changes */
	jmp __x86_indirect_thunk_\reg
1:	cli			/* popfq puts IF back (kedr_helpers.S does the same) */
	pushq %\reg		/* the destination; the C side may change it */
	KEDR_PUSH_CLOBBERED
	movq %\reg, %rsi		/* the destination, before anything changes */
	leaq KEDR_CLOBBERED_BYTES(%rsp), %rdx	/* where it is saved */
	/* the site's index, above the destination, flags and registers */
	movq (KEDR_CLOBBERED_BYTES + 16)(%rsp), %rdi
	cld
	KEDR_CLAC_IF_AC (KEDR_CLOBBERED_BYTES + 8)
	call kedr_on_indirect
	KEDR_POP_CLOBBERED
	popq %\reg		/* where to go: the destination or a handler */
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

/*
 * kedr_static_call_slow: a static call stub's way while a payload claims an
 * import (kedr_routing.c), entered by a jmp with the trampoline's address
 * pushed on top of what the copy's call or tail call left. A static call
 * is a C call: the argument registers and %rax are kept, %r10, %r11 and the
 * status flags are free, DF is clear. Goes on through the kernel's thunk to
 * what kedr_on_static_call() returns (the trampoline, or a handler).
 */
SYM_CODE_START(kedr_static_call_slow)
	KEDR_PUSH_CLOBBERED
	movq KEDR_CLOBBERED_BYTES(%rsp), %rdi
	call kedr_on_static_call
	movq %rax, KEDR_CLOBBERED_BYTES(%rsp)
	KEDR_POP_CLOBBERED
	popq %r11
	jmp __x86_indirect_thunk_r11
SYM_CODE_END(kedr_static_call_slow)
