/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kedr_alloc: the blocks the target allocated and has not freed, for the
 * leak report at its unload (kedr_alloc_leaks.c).
 */
#ifndef KEDR_ALLOC_LEAKS_H
#define KEDR_ALLOC_LEAKS_H

#include <linux/types.h>

struct kedr_call_info;

void kedr_alloc_track(const void *block, size_t size,
		      const struct kedr_call_info *info);
void kedr_alloc_untrack(const void *block, const struct kedr_call_info *info);

#endif /* KEDR_ALLOC_LEAKS_H */
