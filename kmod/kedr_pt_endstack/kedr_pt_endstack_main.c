// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_pt_endstack: a test helper (neither a target nor a payload) for the
 * live-detach test of a task whose stack walk ends short of its top
 * (kedr_pt_endstack_asm.S). kedr_pt_tail calls it through symbol_get().
 */
#include <linux/export.h>
#include <linux/module.h>

#include "kedr_pt_endstack.h"

/* Exported from C, where modpost can version it. */
void kedr_pt_endstack_sleep(unsigned int ms);
EXPORT_SYMBOL_GPL(kedr_pt_endstack_sleep);

MODULE_DESCRIPTION("KEDR test helper: a sleep where stack walks end");
MODULE_LICENSE("GPL");
