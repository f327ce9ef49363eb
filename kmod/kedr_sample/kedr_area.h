/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The code area: an executable NOBITS section of kedr_sample.ko itself, so
 * the copies live in module mapping space, inside a module the kernel knows.
 * The kernel maps it read-only like the rest of our text; the loader writes
 * it through a vmap() alias of its pages. Included from C and assembly.
 */
#ifndef KEDR_AREA_H
#define KEDR_AREA_H

/* Bytes reserved for the copies of one target: a build-time constant. */
#define KEDR_AREA_SIZE	(16 << 20)
/* Alignment of the area; a blob may ask for at most this. */
#define KEDR_AREA_ALIGN	4096

#ifndef __ASSEMBLY__
extern char kedr_area[];
#endif

#endif /* KEDR_AREA_H */
