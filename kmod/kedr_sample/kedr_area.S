/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The area the instrumented copies are placed in (see kedr_area.h). NOBITS:
 * it costs nothing in the .ko file, and the module loader gives it zeroed
 * memory in our core text, mapped read-only and executable.
 */
#include <linux/linkage.h>
#include "kedr_area.h"

	.section .kedr.text, "ax", @nobits
	.balign KEDR_AREA_ALIGN
	.globl kedr_area
	.type kedr_area, @function
kedr_area:
	.skip KEDR_AREA_SIZE
	.size kedr_area, KEDR_AREA_SIZE
