/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_pt_endstack_sleep(ms): msleep(ms) from code whose ORC entry marks an
 * end of stack (UNWIND_HINT_EMPTY), as the kernel's retpoline thunks
 * __x86_indirect_thunk_* have (arch/x86/lib/retpoline.S). The unwinder
 * stops here without an error: what called this, a copy of kedr_pt_tail
 * among them, is not seen by a walk of the sleeping task's stack. A task
 * preempted in a thunk is seen the same way, for an instruction; asleep
 * here, for as long as the test needs.
 */
#include <linux/linkage.h>
#include <asm/ibt.h>
#include <asm/linkage.h>
#include <asm/unwind_hints.h>

	.text
SYM_CODE_START(kedr_pt_endstack_sleep)
	UNWIND_HINT_EMPTY
	ENDBR
	call	msleep
	UNWIND_HINT_FUNC
	RET
SYM_CODE_END(kedr_pt_endstack_sleep)
