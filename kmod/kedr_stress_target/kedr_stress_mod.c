// SPDX-License-Identifier: GPL-2.0
/*
 * kedr_stress_target: a target for the recorder's stress test. Its code is
 * kedr_stress_work.S and nothing else; this file only exports it (from C,
 * for symbol versions). No init or exit function either (the module can
 * still be removed): every event the target gives comes from a call that
 * kedr_stress_driver counted.
 */
#include <linux/export.h>
#include <linux/module.h>

#include "kedr_stress_target.h"
/* kedr_stress_work.S */
EXPORT_SYMBOL_GPL(kst_work);
/* kedr_stress_work.S */
EXPORT_SYMBOL_GPL(kst_nested);

MODULE_DESCRIPTION("KEDR: stress test target with an exactly known number of events");
MODULE_LICENSE("GPL");
