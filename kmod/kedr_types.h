/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixed-width types of the formats kmod/ shares with user space
 * (kedr_blob.h, kedr_record.h): <linux/types.h>, the kernel's own in the
 * kernel and the kernel headers' in user space (the C#/C layout tests
 * compile them), so that a program may include it too.
 */
#ifndef KEDR_TYPES_H
#define KEDR_TYPES_H

#include <linux/types.h>

#endif /* KEDR_TYPES_H */
