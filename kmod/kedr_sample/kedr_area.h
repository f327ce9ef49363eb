/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The code area: an executable NOBITS section of kedr_sample.ko itself, so
 * the copies live in module mapping space, inside a module the kernel knows.
 * The kernel maps it read-only like the rest of our text; the loader writes
 * it through a vmap() alias of its pages. Included from C and assembly.
 *
 * Next to it, two more NOBITS reserves for the tables the kernel looks the
 * copies up in (they hold self-relative 32-bit offsets to the code, so they
 * must be in module space too): a read-only one for the exception table and
 * ORC, a writable one for the bug table (report_bug() sets flags in it).
 */
#ifndef KEDR_AREA_H
#define KEDR_AREA_H

/* Bytes reserved for the copies of one target: a build-time constant. */
#define KEDR_AREA_SIZE	(16 << 20)
/* Alignment of the area; a blob may ask for at most this. */
#define KEDR_AREA_ALIGN	4096

/* Exception table and ORC (ours and the copies'): 10-12 bytes an entry. */
#define KEDR_RO_TABLES_SIZE	(4 << 20)
/* Bug table (ours and the copies'): 12 bytes an entry. */
#define KEDR_RW_TABLES_SIZE	(1 << 20)

#ifndef __ASSEMBLY__
extern char kedr_area[];
extern char kedr_ro_tables[];
extern char kedr_rw_tables[];
#endif

#endif /* KEDR_AREA_H */
