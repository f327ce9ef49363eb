// SPDX-License-Identifier: GPL-2.0
/*
 * The probe benchmark's target (benchmarks/vm/probe-cost.sh): one small
 * function, called in a loop by kedr_pb_drive, probed at the head of its
 * own loop: KEDR_PB_LOOP hits a call, of registers only, so that a call's
 * other costs in the copy (entry, events) weigh little beside the probes'.
 */
#include <linux/compiler.h>
#include <linux/export.h>
#include <linux/module.h>

static unsigned long kedr_pb_sink;

#define KEDR_PB_LOOP	64

noinline unsigned long kedr_pb_work(unsigned long x, unsigned long y)
{
	unsigned long i;

	for (i = 0; i < KEDR_PB_LOOP; i++) {
		x = x * 3 + y;
		/* One iteration at a time, x in a register. */
		asm volatile("" : "+r" (x));
	}
	WRITE_ONCE(kedr_pb_sink, x);
	return x ^ y;
}
EXPORT_SYMBOL_GPL(kedr_pb_work);

MODULE_DESCRIPTION("KEDR: the probe benchmark's target");
MODULE_LICENSE("GPL");
