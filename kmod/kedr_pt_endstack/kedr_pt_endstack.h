/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KEDR_PT_ENDSTACK_H
#define KEDR_PT_ENDSTACK_H

/* kedr_pt_endstack_asm.S: msleep(@ms) where a stack walk ends. */
void kedr_pt_endstack_sleep(unsigned int ms);

#endif /* KEDR_PT_ENDSTACK_H */
