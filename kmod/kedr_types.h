/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixed-width types of the formats kmod/ shares with user space
 * (kedr_blob.h, kedr_record.h, kedr_raw.h): the kernel's own in the kernel, the same
 * widths from <stdint.h> elsewhere (the C#/C layout tests compile them).
 */
#ifndef KEDR_TYPES_H
#define KEDR_TYPES_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
typedef uint8_t __u8;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;
typedef uint32_t __u32;
typedef uint64_t __u64;
#endif

#endif /* KEDR_TYPES_H */
