/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The target's functions. Assembly, so that the events of a call are known
 * without looking at what a compiler made of them (kedr_stress_target.h):
 * no stack accesses, one read and one write per iteration, no branch
 * that depends on the data.
 */
#include <linux/linkage.h>

	.text

/*
 * u64 kst_work(u64 *buf, u64 n): for i in [0, n): buf[i % 64] += 1, as an
 * 8-byte read and an 8-byte write. Returns n.
 */
SYM_FUNC_START(kst_work)
	xorl %ecx, %ecx
	testq %rsi, %rsi
	jz 2f
1:	movl %ecx, %edx
	andl $63, %edx
	movq (%rdi,%rdx,8), %rax
	incq %rax
	movq %rax, (%rdi,%rdx,8)
	incq %rcx
	cmpq %rsi, %rcx
	jb 1b
2:	movq %rcx, %rax
	RET
SYM_FUNC_END(kst_work)

/*
 * u64 kst_nested(u64 *buf, u64 n): kst_work(buf, n), then a locked
 * increment of buf[64]. Returns n.
 */
SYM_FUNC_START(kst_nested)
	pushq %rdi
	call kst_work
	popq %rdi
	lock incq 512(%rdi)
	RET
SYM_FUNC_END(kst_nested)
