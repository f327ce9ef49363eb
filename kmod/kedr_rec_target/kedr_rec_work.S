/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_rec_work(): one call gives exactly six events when instrumented:
 * entry, a read and a write of 4 bytes (INCL), a read and a write of 8
 * bytes (MOVSQ), exit. The REP MOVSB with a zero count accesses nothing
 * and gives none. The recorder tests count these.
 */
#include <linux/linkage.h>
#include <asm/asm.h>

	.text
SYM_FUNC_START(kedr_rec_work)
	incl kedr_rec_var(%rip)			/* R var 4, W var 4 */
	leaq kedr_rec_src(%rip), %rsi
	leaq kedr_rec_dst(%rip), %rdi
	movsq					/* R src 8, W dst 8 */
	xorl %ecx, %ecx
	rep movsb				/* zero count: nothing */
	RET
SYM_FUNC_END(kedr_rec_work)
