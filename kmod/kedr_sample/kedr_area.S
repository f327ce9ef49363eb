/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The area the instrumented copies are placed in and the reserves for their
 * tables (see kedr_area.h). NOBITS: they cost nothing in the .ko file, and
 * the module loader gives them zeroed memory in our core layout: the area
 * read-only and executable, .kedr.rodata read-only, .kedr.data writable.
 *
 * The area is .kprobes.text, which kprobes refuse
 * (add_module_kprobe_blacklist()): kedr_sample rewrites the copies while they
 * run (filter jumps, init copies and a detach filling them with int3), and a
 * kprobe there would write back a byte it saved from before, when disarmed.
 */
#include <linux/linkage.h>
#include "kedr_area.h"

	.section .kprobes.text, "ax", @nobits
	.balign KEDR_AREA_ALIGN
	.globl kedr_area
	.type kedr_area, @function
kedr_area:
	.skip KEDR_AREA_SIZE
	.size kedr_area, KEDR_AREA_SIZE

	.section .kedr.rodata, "a", @nobits
	.balign 4096
	.globl kedr_ro_tables
	.type kedr_ro_tables, @object
kedr_ro_tables:
	.skip KEDR_RO_TABLES_SIZE
	.size kedr_ro_tables, KEDR_RO_TABLES_SIZE

	.section .kedr.data, "aw", @nobits
	.balign 4096
	.globl kedr_rw_tables
	.type kedr_rw_tables, @object
kedr_rw_tables:
	.skip KEDR_RW_TABLES_SIZE
	.size kedr_rw_tables, KEDR_RW_TABLES_SIZE
