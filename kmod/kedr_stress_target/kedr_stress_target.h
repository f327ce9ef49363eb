/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_stress_target's functions, as the driver calls them. Instrumented,
 * a call gives exactly these events (stack accesses are not recorded by
 * default; kst_nested's push/pop are the only ones):
 *
 *	kst_work(buf, n)	2 + 2n: entry, n x (read 8, write 8), exit
 *	kst_nested(buf, n)	6 + 2n: entry, kst_work's, locked update 8
 *				(two records: before and after the
 *				instruction), exit
 *
 * @buf: KST_BUF_WORDS u64s.
 */
#ifndef KEDR_STRESS_TARGET_H
#define KEDR_STRESS_TARGET_H

#include <linux/types.h>

#define KST_BUF_WORDS	65

u64 kst_work(u64 *buf, u64 n);
u64 kst_nested(u64 *buf, u64 n);

#endif /* KEDR_STRESS_TARGET_H */
