/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cases of the exactness target (kedr_exactness_cases.S): each is
 * called with two 512-byte buffers (64-byte aligned) and an 8192-byte one
 * and returns whatever it left in %rax.
 */
#ifndef KEDR_EXACTNESS_H
#define KEDR_EXACTNESS_H

#include <linux/linkage.h>
#include <linux/percpu.h>
#include <linux/types.h>

#define KX_BUF_SIZE	512
#define KX_BIG_SIZE	8192

struct kx_pcpu_area {
	u64 w[4];
};

/* Used by the cases through %rip, moffs and %gs. */
DECLARE_PER_CPU_ALIGNED(struct kx_pcpu_area, kx_pcpu);
extern u8 kx_data[64];
extern void *kx_fptr;

typedef unsigned long kx_case_fn(u8 *a, u8 *b, u8 *c);

asmlinkage kx_case_fn kx_mov, kx_xchg, kx_movx, kx_movbe, kx_setcc, kx_cmov,
	kx_arith, kx_cmp, kx_cmpxchg, kx_cmpxchg8b16b, kx_xadd, kx_lock,
	kx_bitimm, kx_bitreg, kx_str, kx_str_df1, kx_str_zero, kx_str_io,
	kx_pushpop,
	kx_xlat, kx_indirect, kx_ind_callee, kx_ind_tail, kx_gs, kx_gs_str,
	kx_sp, kx_sp_pushpop, kx_x87, kx_sse, kx_avx, kx_avx2, kx_avx512,
	kx_noevent;

#endif /* KEDR_EXACTNESS_H */
