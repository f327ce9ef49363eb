// SPDX-License-Identifier: GPL-2.0
/*
 * Lengths of x86-64 instructions, enough to walk the rewriter's copies
 * (kernel code plus the copies' own sequences) instruction by instruction:
 * the blob parser checks with it that a landing pad's destination is an
 * instruction boundary of its copy. It knows the one-byte, 0F, 0F 38 and
 * 0F 3A maps and VEX/EVEX; anything else (XOP, 3DNow!, opcodes invalid in
 * 64-bit mode) is refused. The kernel's own decoder (insn_decode()) is not
 * exported to modules.
 */
#include <linux/errno.h>
#include <linux/types.h>

#include "kedr_sample.h"

#define KEDR_INSN_MAX	15

/* What follows an opcode. */
#define OP_M		0x01	/* ModRM (SIB, displacement) */
#define OP_I8		0x02	/* 1-byte immediate */
#define OP_I16		0x04	/* 2-byte immediate */
#define OP_IZ		0x08	/* 2 or 4 bytes: operand size */
#define OP_IV		0x10	/* 2, 4 or 8 bytes: operand size, REX.W */
#define OP_I32		0x20	/* 4 bytes: rel32 */
#define OP_MOFFS	0x40	/* 8 or 4 bytes: address size */
#define OP_BAD		0x80	/* invalid in 64-bit mode, or not known here */

static const u8 kedr_map1[256] = {
	[0x00 ... 0x03] = OP_M, [0x04] = OP_I8, [0x05] = OP_IZ,
	[0x06 ... 0x07] = OP_BAD,
	[0x08 ... 0x0b] = OP_M, [0x0c] = OP_I8, [0x0d] = OP_IZ,
	[0x0e] = OP_BAD,
	[0x10 ... 0x13] = OP_M, [0x14] = OP_I8, [0x15] = OP_IZ,
	[0x16 ... 0x17] = OP_BAD,
	[0x18 ... 0x1b] = OP_M, [0x1c] = OP_I8, [0x1d] = OP_IZ,
	[0x1e ... 0x1f] = OP_BAD,
	[0x20 ... 0x23] = OP_M, [0x24] = OP_I8, [0x25] = OP_IZ,
	[0x27] = OP_BAD,
	[0x28 ... 0x2b] = OP_M, [0x2c] = OP_I8, [0x2d] = OP_IZ,
	[0x2f] = OP_BAD,
	[0x30 ... 0x33] = OP_M, [0x34] = OP_I8, [0x35] = OP_IZ,
	[0x37] = OP_BAD,
	[0x38 ... 0x3b] = OP_M, [0x3c] = OP_I8, [0x3d] = OP_IZ,
	[0x3f] = OP_BAD,
	[0x60 ... 0x61] = OP_BAD, [0x63] = OP_M, [0x68] = OP_IZ,
	[0x69] = OP_M | OP_IZ, [0x6a] = OP_I8, [0x6b] = OP_M | OP_I8,
	[0x70 ... 0x7f] = OP_I8,
	[0x80] = OP_M | OP_I8, [0x81] = OP_M | OP_IZ, [0x82] = OP_BAD,
	[0x83] = OP_M | OP_I8, [0x84 ... 0x8f] = OP_M,
	[0x9a] = OP_BAD,
	[0xa0 ... 0xa3] = OP_MOFFS, [0xa8] = OP_I8, [0xa9] = OP_IZ,
	[0xb0 ... 0xb7] = OP_I8, [0xb8 ... 0xbf] = OP_IV,
	[0xc0 ... 0xc1] = OP_M | OP_I8, [0xc2] = OP_I16,
	[0xc6] = OP_M | OP_I8, [0xc7] = OP_M | OP_IZ,
	[0xc8] = OP_I16 | OP_I8, [0xca] = OP_I16, [0xcd] = OP_I8,
	[0xce] = OP_BAD,
	[0xd0 ... 0xd3] = OP_M, [0xd4 ... 0xd6] = OP_BAD,
	[0xd8 ... 0xdf] = OP_M,
	[0xe0 ... 0xe7] = OP_I8, [0xe8 ... 0xe9] = OP_I32, [0xea] = OP_BAD,
	[0xeb] = OP_I8,
	[0xf6 ... 0xf7] = OP_M, [0xfe ... 0xff] = OP_M,
};

/* 0F xx; 0F 38 and 0F 3A are handled apart. */
static const u8 kedr_map2[256] = {
	[0x00 ... 0x03] = OP_M, [0x04] = OP_BAD, [0x0a] = OP_BAD,
	[0x0c] = OP_BAD, [0x0d] = OP_M, [0x0f] = OP_BAD,
	[0x10 ... 0x1f] = OP_M,
	[0x20 ... 0x23] = OP_M, [0x24 ... 0x27] = OP_BAD,
	[0x28 ... 0x2f] = OP_M,
	[0x36] = OP_BAD, [0x39] = OP_BAD, [0x3b ... 0x3f] = OP_BAD,
	[0x40 ... 0x6f] = OP_M,
	[0x70 ... 0x73] = OP_M | OP_I8, [0x74 ... 0x76] = OP_M,
	[0x78 ... 0x79] = OP_M, [0x7a ... 0x7b] = OP_BAD,
	[0x7c ... 0x7f] = OP_M,
	[0x80 ... 0x8f] = OP_I32,
	[0x90 ... 0x9f] = OP_M,
	[0xa3] = OP_M, [0xa4] = OP_M | OP_I8, [0xa5] = OP_M,
	[0xa6 ... 0xa7] = OP_BAD,
	[0xab] = OP_M, [0xac] = OP_M | OP_I8, [0xad ... 0xaf] = OP_M,
	[0xb0 ... 0xb9] = OP_M, [0xba] = OP_M | OP_I8, [0xbb ... 0xbf] = OP_M,
	[0xc0 ... 0xc1] = OP_M, [0xc2] = OP_M | OP_I8, [0xc3] = OP_M,
	[0xc4 ... 0xc6] = OP_M | OP_I8, [0xc7] = OP_M,
	[0xd0 ... 0xff] = OP_M,
};

static bool kedr_is_legacy_prefix(u8 b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	}
	return false;
}

/* Bytes of ModRM, SIB and displacement at @p; -EINVAL past @avail. */
static int kedr_modrm_len(const u8 *p, unsigned int avail)
{
	unsigned int n = 1, mod, rm;

	if (!avail)
		return -EINVAL;
	mod = p[0] >> 6;
	rm = p[0] & 7;
	if (mod != 3 && rm == 4) {
		if (avail < 2)
			return -EINVAL;
		n++;
		if (mod == 0 && (p[1] & 7) == 5)
			n += 4;
	}
	if (mod == 0 && rm == 5)
		n += 4;
	else if (mod == 1)
		n += 1;
	else if (mod == 2)
		n += 4;
	return n;
}

/*
 * The length of the instruction at @p, of which @avail bytes are readable;
 * -EINVAL if it is not one this decoder knows or does not fit.
 */
int kedr_insn_len(const u8 *p, unsigned int avail)
{
	bool opsize16 = false, addr32 = false, rex_w = false, vex = false;
	u8 rep = 0;	/* the last F2 or F3 */
	unsigned int i = 0, imm = 0, map = 1;
	u8 op, flags;
	int m;

	if (avail > KEDR_INSN_MAX)
		avail = KEDR_INSN_MAX;
	for (;; i++) {
		if (i >= avail)
			return -EINVAL;
		if (kedr_is_legacy_prefix(p[i])) {
			opsize16 |= p[i] == 0x66;
			if (p[i] == 0xf2 || p[i] == 0xf3)
				rep = p[i];
			addr32 |= p[i] == 0x67;
			rex_w = false;	/* a REX not last is ignored */
		} else if ((p[i] & 0xf0) == 0x40) {
			rex_w = p[i] & 0x8;
		} else {
			break;
		}
	}
	op = p[i++];
	if (op == 0xc4 || op == 0xc5 || op == 0x62) {
		/* VEX (3 or 2 bytes) or EVEX (4 bytes), then the opcode. */
		unsigned int extra = op == 0xc4 ? 2 : op == 0xc5 ? 1 : 3;

		if (i + extra >= avail)
			return -EINVAL;
		map = op == 0xc5 ? 1 : p[i] & (op == 0xc4 ? 0x1f : 0x7);
		if (map < 1 || map > (op == 0x62 ? 6 : 3) || map == 4)
			return -EINVAL;
		vex = true;
		i += extra;
		op = p[i++];
	} else if (op == 0x0f) {
		if (i >= avail)
			return -EINVAL;
		op = p[i++];
		map = 2;
		if (op == 0x38 || op == 0x3a) {
			map = op == 0x38 ? 3 : 4;
			if (i >= avail)
				return -EINVAL;
			op = p[i++];
		}
	}

	if (vex) {
		/* VEX.0F 77 (vzeroupper/vzeroall) alone has no ModRM. */
		flags = (map == 1 && op == 0x77) ? 0 : OP_M;
		if (map == 3 || (map == 1 && (kedr_map2[op] & OP_I8)))
			flags |= OP_I8;
	} else if (map == 1) {
		flags = kedr_map1[op];
		/* POP r/m, not AMD's XOP escape. */
		if (op == 0x8f && i < avail && (p[i] & 0x1f) >= 8)
			return -EINVAL;
	} else if (map == 2) {
		flags = kedr_map2[op];
		/* SSE4a: INSERTQ (F2 0F 78), EXTRQ (66 0F 78 /0) take two imm8. */
		if (op == 0x78 && (rep == 0xf2 || (!rep && opsize16)))
			flags |= OP_I16;
	} else {
		flags = OP_M | (map == 4 ? OP_I8 : 0);
	}
	if (flags & OP_BAD)
		return -EINVAL;

	if (flags & OP_M) {
		/* MOV to/from CR/DR: the ModRM is a register, whatever mod says. */
		if (!vex && map == 2 && op >= 0x20 && op <= 0x23)
			m = i < avail ? 1 : -EINVAL;
		else
			m = kedr_modrm_len(p + i, avail - i);
		if (m < 0)
			return m;
		/* TEST r/m, imm: group 3 /0 and /1. */
		if (map == 1 && !vex && (op == 0xf6 || op == 0xf7) &&
		    ((p[i] >> 3) & 7) < 2)
			flags |= op == 0xf6 ? OP_I8 : OP_IZ;
		i += m;
	}
	if (flags & OP_I8)
		imm += 1;
	if (flags & OP_I16)
		imm += 2;
	/* REX.W wins over 66: operand size 64, an Iz stays imm32. */
	if (flags & OP_IZ)
		imm += opsize16 && !rex_w ? 2 : 4;
	if (flags & OP_IV)
		imm += rex_w ? 8 : opsize16 ? 2 : 4;
	if (flags & OP_I32)
		imm += 4;
	if (flags & OP_MOFFS)
		imm += addr32 ? 4 : 8;
	i += imm;
	return i <= avail ? i : -EINVAL;
}
