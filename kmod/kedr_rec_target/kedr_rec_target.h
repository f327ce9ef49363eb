/* SPDX-License-Identifier: GPL-2.0 */
/* kedr_rec_target's functions, for kedr_rec_probe (see kedr_rec_main.c). */
#ifndef KEDR_REC_TARGET_H
#define KEDR_REC_TARGET_H

#include <linux/compiler.h>
#include <linux/types.h>

struct kedr_rec_ops {
	void (*work)(void);
	int (*uaccess)(const u8 __user *p, u8 *v);
	void (*indirect)(unsigned int n);
};

extern const struct kedr_rec_ops kedr_rec_ops;

/* kedr_rec_work.S */
void kedr_rec_work(void);

#endif /* KEDR_REC_TARGET_H */
