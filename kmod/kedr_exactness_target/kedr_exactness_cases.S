/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cases of the exactness target: one function per class of
 * memory-accessing instructions, written in assembly so that every
 * instruction of every case is known and the accesses a case makes are
 * exactly the ones listed here, nothing the compiler added.
 *
 * Every case is called as
 *	void kx_case(u8 *a, u8 *b, u8 *c)
 * with a and b 512-byte buffers (64-byte aligned) and c an 8192-byte one,
 * moved to %r8, %r9 and %r10 on entry. kedr_exactness_main.c prepares the
 * buffers' contents each case relies on and reports the addresses.
 *
 * Every instruction that accesses memory (and, in kx_noevent, those that
 * must not) has a label kxl_<case>_<what>: a local symbol, so the guest's
 * /proc/kallsyms gives the exact address of each one, that is the pc its
 * events must carry. The comment after each says what it accesses (A, B,
 * C = the buffers, D = kx_data, P = this CPU's kx_pcpu, S = %rsp after the
 * prologue of kx_sp); the test derives its expected events from the same
 * semantics independently.
 */
#include <linux/linkage.h>
#include <asm/nospec-branch.h>

#define KXL(name)	kxl_##name:

.macro KX_ARGS
	movq %rdi, %r8
	movq %rsi, %r9
	movq %rdx, %r10
.endm

	.text

/* MOV: loads, stores, immediates, index, RIP-relative, moffs. */
SYM_FUNC_START(kx_mov)
	KX_ARGS
	movl $3, %ecx
KXL(mov_ld1)	movb (%r8), %al			/* R A+0 1 */
KXL(mov_ld2)	movw 2(%r8), %ax		/* R A+2 2 */
KXL(mov_ld4)	movl 4(%r8), %eax		/* R A+4 4 */
KXL(mov_ld8)	movq 8(%r8), %rax		/* R A+8 8 */
KXL(mov_st1)	movb %al, 16(%r8)		/* W A+16 1 */
KXL(mov_st1h)	movb %ah, 17(%rdi)		/* W A+17 1 */
KXL(mov_st2)	movw %ax, 18(%r8)		/* W A+18 2 */
KXL(mov_st4)	movl %eax, 20(%r8)		/* W A+20 4 */
KXL(mov_st8)	movq %rax, 24(%r8)		/* W A+24 8 */
KXL(mov_imm4)	movl $0x1234, 32(%r8)		/* W A+32 4 */
KXL(mov_imm8)	movq $-1, 40(%r8)		/* W A+40 8 */
KXL(mov_idx)	movq 16(%r8,%rcx,8), %rdx	/* R A+40 8 */
KXL(mov_rip_ld)	movl kx_data+8(%rip), %eax	/* R D+8 4 */
KXL(mov_rip_st)	movl %eax, kx_data+12(%rip)	/* W D+12 4 */
	leaq 64(%r9), %rdx
KXL(mov_neg)	movq -8(%rdx), %rax		/* R B+56 8 */
KXL(mov_r12)	movq %rax, 48(%r8)		/* W A+48 8 */
KXL(mov_moffs_ld) movabs kx_data+48, %eax	/* R D+48 4 */
KXL(mov_moffs_st) movabs %eax, kx_data+52	/* W D+52 4 */
	RET
SYM_FUNC_END(kx_mov)

/* XCHG with memory: a locked update, with or without LOCK. */
SYM_FUNC_START(kx_xchg)
	KX_ARGS
KXL(xchg_4)	xchgl %eax, (%r8)		/* U A+0 4 */
KXL(xchg_8)	xchgq 8(%r8), %rax		/* U A+8 8 */
KXL(xchg_1)	xchgb %al, 16(%r8)		/* U A+16 1 */
KXL(xchg_2)	xchgw %ax, 18(%r8)		/* U A+18 2 */
KXL(xchg_lock)	lock xchgl %eax, 20(%r8)	/* U A+20 4 */
	RET
SYM_FUNC_END(kx_xchg)

/* MOVSX, MOVZX, MOVSXD. */
SYM_FUNC_START(kx_movx)
	KX_ARGS
KXL(movx_zb)	movzbl (%r8), %eax		/* R A+0 1 */
KXL(movx_zw)	movzwl 2(%r8), %eax		/* R A+2 2 */
KXL(movx_sbq)	movsbq 4(%r8), %rax		/* R A+4 1 */
KXL(movx_swl)	movswl 6(%r8), %eax		/* R A+6 2 */
KXL(movx_slq)	movslq 8(%r8), %rax		/* R A+8 4 */
KXL(movx_zbw)	movzbw 12(%r8), %ax		/* R A+12 1 */
	RET
SYM_FUNC_END(kx_movx)

/* MOVBE (the caller checks the CPU has it). */
SYM_FUNC_START(kx_movbe)
	KX_ARGS
KXL(movbe_ld4)	movbel (%r8), %eax		/* R A+0 4 */
KXL(movbe_st8)	movbeq %rax, 8(%r8)		/* W A+8 8 */
KXL(movbe_ld2)	movbew 16(%r8), %ax		/* R A+16 2 */
	RET
SYM_FUNC_END(kx_movbe)

/* SETcc: a write whatever the condition. */
SYM_FUNC_START(kx_setcc)
	KX_ARGS
	cmpl %eax, %eax
KXL(setcc_e)	sete (%r8)			/* W A+0 1 (true) */
KXL(setcc_ne)	setne 1(%r8)			/* W A+1 1 (false) */
KXL(setcc_b)	setb 2(%r8)			/* W A+2 1 */
	RET
SYM_FUNC_END(kx_setcc)

/* CMOVcc: a read whatever the condition. */
SYM_FUNC_START(kx_cmov)
	KX_ARGS
	xorl %ecx, %ecx				/* ZF=1, CF=0 */
	xorl %eax, %eax
KXL(cmov_taken)	cmovel (%r8), %ecx		/* R A+0 4 */
KXL(cmov_not)	cmovneq 8(%r8), %rcx		/* R A+8 8 */
KXL(cmov_not2)	cmovbw 16(%r8), %cx		/* R A+16 2 */
	movl %ecx, %eax				/* A+0's value: taken */
	RET
SYM_FUNC_END(kx_cmov)

/* Integer arithmetic and logic: RMW is a read and a write. */
SYM_FUNC_START(kx_arith)
	KX_ARGS
	movl $3, %ecx
	movl $1, %eax
KXL(ar_add_rm)	addl %eax, (%r8)		/* RW A+0 4 */
KXL(ar_add_mr)	addl (%r8), %eax		/* R A+0 4 */
KXL(ar_sub)	subq $1, 8(%r8)			/* RW A+8 8 */
KXL(ar_and)	andb $0x7f, 16(%r8)		/* RW A+16 1 */
KXL(ar_or)	orw %ax, 18(%r8)		/* RW A+18 2 */
KXL(ar_xor)	xorl 20(%r8), %edx		/* R A+20 4 */
KXL(ar_adc)	adcq %rax, 24(%r8)		/* RW A+24 8 */
KXL(ar_sbb)	sbbl $0, 32(%r8)		/* RW A+32 4 */
KXL(ar_inc)	incl 36(%r8)			/* RW A+36 4 */
KXL(ar_dec)	decq 40(%r8)			/* RW A+40 8 */
KXL(ar_neg)	negb 48(%r8)			/* RW A+48 1 */
KXL(ar_not)	notw 50(%r8)			/* RW A+50 2 */
KXL(ar_shl)	shll 52(%r8)			/* RW A+52 4 */
KXL(ar_sar)	sarq $3, 56(%r8)		/* RW A+56 8 */
KXL(ar_rol)	rolw %cl, 64(%r8)		/* RW A+64 2 */
KXL(ar_rcr)	rcrl $1, 68(%r8)		/* RW A+68 4 */
KXL(ar_test)	testl %eax, 72(%r8)		/* R A+72 4 */
KXL(ar_testb)	testb $1, 76(%r8)		/* R A+76 1 */
KXL(ar_imul)	imull 80(%r8), %eax		/* R A+80 4 */
KXL(ar_imul3)	imulq $3, 88(%r8), %rax		/* R A+88 8 */
	movl $5, %eax
KXL(ar_mul)	mull 96(%r8)			/* R A+96 4 (=2) */
	xorl %edx, %edx
	movl $10, %eax
KXL(ar_div)	divl 100(%r8)			/* R A+100 4 (=3) */
	xorl %edx, %edx
	movl $100, %eax
KXL(ar_idiv)	idivq 104(%r8)			/* R A+104 8 (=7) */
KXL(ar_shld)	shldl $4, %eax, 112(%r8)	/* RW A+112 4 */
KXL(ar_rip)	addl $5, kx_data+16(%rip)	/* RW D+16 4 */
	RET
SYM_FUNC_END(kx_arith)

/* CMP: a read. */
SYM_FUNC_START(kx_cmp)
	KX_ARGS
KXL(cmp_rm)	cmpl %eax, (%r8)		/* R A+0 4 */
KXL(cmp_imm1)	cmpb $1, 4(%r8)			/* R A+4 1 */
KXL(cmp_mr)	cmpq (%r8), %rax		/* R A+0 8 */
KXL(cmp_imm2)	cmpw $0x1234, 8(%r8)		/* R A+8 2 */
KXL(cmp_rip)	cmpl $0, kx_data+20(%rip)	/* R D+20 4 */
	RET
SYM_FUNC_END(kx_cmp)

/*
 * CMPXCHG, succeeding then failing, without and with LOCK: it writes back
 * even when it fails. A+0 and A+8 hold 5 on entry; returns what the
 * failing plain CMPXCHG loaded (7) plus 100 * what the failing locked one
 * loaded (9): 907.
 */
SYM_FUNC_START(kx_cmpxchg)
	KX_ARGS
	movl $5, %eax
	movl $7, %ecx
KXL(cx_ok)	cmpxchgl %ecx, (%r8)		/* RW A+0 4: 5 == 5, now 7 */
	movl $5, %eax
KXL(cx_fail)	cmpxchgl %ecx, (%r8)		/* RW A+0 4: 7 != 5, eax = 7 */
	movl %eax, %r11d
	movq $5, %rax
	movq $9, %rcx
KXL(cx_lock_ok)	lock cmpxchgq %rcx, 8(%r8)	/* U A+8 8: now 9 */
	movq $5, %rax
KXL(cx_lock_fail) lock cmpxchgq %rcx, 8(%r8)	/* U A+8 8: rax = 9 */
	imull $100, %eax, %eax
	addl %r11d, %eax
	RET
SYM_FUNC_END(kx_cmpxchg)

/*
 * CMPXCHG8B at A+16 and A+48, CMPXCHG16B at A+32 and A+64 (16-aligned),
 * each succeeding (expected 1:2, new 3:4) then failing; without then with
 * LOCK. All four locations hold hi=1 lo=2 on entry and 3:4 after.
 */
SYM_FUNC_START(kx_cmpxchg8b16b)
	KX_ARGS
	pushq %rbx
	movl $1, %edx
	movl $2, %eax
	movl $3, %ecx
	movl $4, %ebx
KXL(c8_ok)	cmpxchg8b 16(%r8)		/* RW A+16 8 */
KXL(c8_fail)	cmpxchg8b 16(%r8)		/* RW A+16 8: edx:eax = 3:4 */
	movl $1, %edx
	movl $2, %eax
KXL(c8_lock_ok)	lock cmpxchg8b 48(%r8)		/* U A+48 8 */
KXL(c8_lock_fail) lock cmpxchg8b 48(%r8)	/* U A+48 8 */
	movl $1, %edx
	movl $2, %eax
KXL(c16_ok)	cmpxchg16b 32(%r8)		/* RW A+32 16 */
KXL(c16_fail)	cmpxchg16b 32(%r8)		/* RW A+32 16 */
	movl $1, %edx
	movl $2, %eax
KXL(c16_lock_ok) lock cmpxchg16b 64(%r8)	/* U A+64 16 */
KXL(c16_lock_fail) lock cmpxchg16b 64(%r8)	/* U A+64 16 */
	popq %rbx
	RET
SYM_FUNC_END(kx_cmpxchg8b16b)

/* XADD: a read and a write, or with LOCK a locked update. */
SYM_FUNC_START(kx_xadd)
	KX_ARGS
	movl $1, %eax
KXL(xadd_4)	xaddl %eax, (%r8)		/* RW A+0 4 */
KXL(xadd_lock)	lock xaddq %rax, 8(%r8)		/* U A+8 8 */
KXL(xadd_1)	xaddb %al, 16(%r8)		/* RW A+16 1 */
	RET
SYM_FUNC_END(kx_xadd)

/* LOCK-prefixed read-modify-write: one locked update each. */
SYM_FUNC_START(kx_lock)
	KX_ARGS
	movl $1, %eax
KXL(lk_add)	lock addl $1, (%r8)		/* U A+0 4 */
KXL(lk_inc)	lock incq 8(%r8)		/* U A+8 8 */
KXL(lk_dec)	lock decw 16(%r8)		/* U A+16 2 */
KXL(lk_or)	lock orb $1, 18(%r8)		/* U A+18 1 */
KXL(lk_and)	lock andl %eax, 20(%r8)		/* U A+20 4 */
KXL(lk_xor)	lock xorq %rax, 24(%r8)		/* U A+24 8 */
KXL(lk_sub)	lock subl $2, 32(%r8)		/* U A+32 4 */
KXL(lk_neg)	lock negl 36(%r8)		/* U A+36 4 */
KXL(lk_not)	lock notq 40(%r8)		/* U A+40 8 */
KXL(lk_adc)	lock adcl $0, 48(%r8)		/* U A+48 4 */
KXL(lk_sbb)	lock sbbw %ax, 52(%r8)		/* U A+52 2 */
	RET
SYM_FUNC_END(kx_lock)

/* BT/BTS/BTR/BTC with an immediate offset: the operand at M, its size. */
SYM_FUNC_START(kx_bitimm)
	KX_ARGS
KXL(bi_bt)	btl $3, (%r8)			/* R A+0 4 */
KXL(bi_bts)	btsq $33, 8(%r8)		/* RW A+8 8 */
KXL(bi_btr)	btrw $5, 16(%r8)		/* RW A+16 2 */
KXL(bi_btc)	btcl $7, 20(%r8)		/* RW A+20 4 */
KXL(bi_lock)	lock btsl $1, 24(%r8)		/* U A+24 4 */
KXL(bi_wrap)	btl $40, 28(%r8)		/* R A+28 4 (40 mod 32) */
	RET
SYM_FUNC_END(kx_bitimm)

/*
 * BT/BTS/BTR/BTC with the offset in a register: the operand-size unit
 * holding the bit, M + size * floor(offset / (8 * size)) (Intel SDM, BT),
 * the offset signed at the operand size. M = CB = C+4096 (%r11) unless
 * said otherwise. Comments: kind, address, size (the offset).
 */
SYM_FUNC_START(kx_bitreg)
	KX_ARGS
	leaq 4096(%r10), %r11
	movl $5, %eax
KXL(br_bt)	btq %rax, (%r11)		/* R CB+0 8 */
	movq $-9, %rax
KXL(br_bts_neg)	btsq %rax, (%r11)		/* RW CB-8 8 */
	movabsq $0xffffffff00000010, %rax
KXL(br_btr32)	btrl %eax, (%r11)		/* RW CB+0 4 (16) */
	movl $0x1234ffff, %eax
KXL(br_btc16)	btcw %ax, (%r11)		/* RW CB-2 2 (-1) */
	movl $30000, %ecx
KXL(br_bt_large) btl %ecx, (%r11)		/* R CB+3748 4 */
	movq $-32768, %rdx
KXL(br_bt_lneg)	btq %rdx, (%r11)		/* R CB-4096 8 */
	movl $32767, %esi
KXL(br_bts_max)	btsq %rsi, (%r11)		/* RW CB+4088 8 */
	movl $0x7fff8000, %edi
KXL(br_bt16neg)	btw %di, (%r11)			/* R CB-4096 2 (-32768) */
	movl $64, %eax
KXL(br_lock)	lock btsq %rax, (%r11)		/* U CB+8 8 */
	movq $-64, %rax
KXL(br_lock_neg) lock btrl %eax, (%r11)		/* U CB-8 4 */
	movl $2, %ecx
	movq $-3, %rax
KXL(br_index)	btq %rax, 16(%r11,%rcx,8)	/* R CB+24 8 */
	movl $70, %eax
KXL(br_rip)	btl %eax, kx_data(%rip)		/* R D+8 4 */
	movl $-1, %eax
KXL(br_bt32_m1)	btl %eax, (%r11)		/* R CB-4 4 (-1) */
	movl $-17, %eax
KXL(br_bt16_m17) btw %ax, (%r11)		/* R CB-4 2 (-17) */
	RET
SYM_FUNC_END(kx_bitreg)

/*
 * String instructions without REP and with REP, DF=0. A and B hold what
 * kedr_exactness_main.c put there for the REPE/REPNE stops.
 */
SYM_FUNC_START(kx_str)
	KX_ARGS
	movq %r9, %rsi
KXL(s_lodsb)	lodsb				/* R B+0 1 */
	leaq 8(%r9), %rsi
KXL(s_lodsq)	lodsq				/* R B+8 8 */
	leaq 16(%r8), %rdi
KXL(s_stosl)	stosl				/* W A+16 4 */
KXL(s_stosw)	stosw				/* W A+20 2 */
	leaq 24(%r8), %rdi
KXL(s_scasb)	scasb				/* R A+24 1 */
	leaq 32(%r9), %rsi
	leaq 32(%r8), %rdi
KXL(s_movsq)	movsq				/* R B+32 8, W A+32 8 */
KXL(s_movsb)	movsb				/* R B+40 1, W A+40 1 */
	leaq 48(%r9), %rsi
	leaq 48(%r8), %rdi
KXL(s_cmpsl)	cmpsl				/* R B+48 4, R A+48 4 */
	leaq 64(%r9), %rsi
	leaq 64(%r8), %rdi
	movl $13, %ecx
KXL(s_rep_movsb) rep movsb			/* R B+64 13, W A+64 13 */
	leaq 80(%r9), %rsi
	leaq 80(%r8), %rdi
	movl $4, %ecx
KXL(s_rep_movsq) rep movsq			/* R B+80 32, W A+80 32 */
	leaq 128(%r8), %rdi
	movl $4, %ecx
KXL(s_rep_stosq) rep stosq			/* W A+128 32 */
	leaq 160(%r8), %rdi
	movl $7, %ecx
KXL(s_rep_stosb) rep stosb			/* W A+160 7 */
	leaq 128(%r9), %rsi
	movl $3, %ecx
KXL(s_rep_lodsl) rep lodsl			/* R B+128 12 */
	leaq 160(%r9), %rsi
	leaq 200(%r8), %rdi
	movl $10, %ecx
KXL(s_repe_cmpsl) repe cmpsl			/* R B+160 12, R A+200 12 */
	leaq 256(%r8), %rdi
	movl $0x5a, %eax
	movl $20, %ecx
KXL(s_repne_scasb) repne scasb			/* R A+256 6 */
	leaq 300(%r9), %rsi
	leaq 300(%r8), %rdi
	movl $8, %ecx
KXL(s_repe_cmpsb) repe cmpsb			/* R B+300 8, R A+300 8 */
	leaq 320(%r8), %rdi
	movl $3, %ecx
KXL(s_rep_stosw) rep stosw			/* W A+320 6 */
	RET
SYM_FUNC_END(kx_str)

/* String instructions with DF=1: the range is below the start. */
SYM_FUNC_START(kx_str_df1)
	KX_ARGS
	std
	leaq 200(%r9), %rsi
	leaq 200(%r8), %rdi
	movl $3, %ecx
KXL(sd_rep_movsl) rep movsl			/* R B+192 12, W A+192 12 */
	leaq 100(%r9), %rsi
KXL(sd_lodsw)	lodsw				/* R B+100 2: %al = 0x77 */
	leaq 100(%r8), %rdi
	movl $5, %ecx
KXL(sd_rep_stosb) rep stosb			/* W A+96 5 */
	leaq 64(%r8), %rdi
	movq $0x5a5a, %rax
	movl $10, %ecx
KXL(sd_repne_scasq) repne scasq			/* R A+48 24 */
	leaq 10(%r9), %rsi
	leaq 10(%r8), %rdi
	movl $4, %ecx
KXL(sd_repe_cmpsb) repe cmpsb			/* R B+7 4, R A+7 4 */
	leaq 304(%r9), %rsi
	leaq 304(%r8), %rdi
KXL(sd_movsq)	movsq				/* R B+304 8, W A+304 8 */
	cld
	RET
SYM_FUNC_END(kx_str_df1)

/* REP with a zero count touches nothing: no events. */
SYM_FUNC_START(kx_str_zero)
	KX_ARGS
	xorl %ecx, %ecx
	movq %r9, %rsi
	movq %r8, %rdi
KXL(sz_movsb)	rep movsb
KXL(sz_stosl)	rep stosl
KXL(sz_cmpsb)	repe cmpsb
KXL(sz_scasb)	repne scasb
KXL(sz_lodsq)	rep lodsq
	std
KXL(sz_movsq_df1) rep movsq
	cld
	RET
SYM_FUNC_END(kx_str_zero)

/*
 * INS and OUTS through port 0x80 (the POST diagnostic port the kernel's own
 * I/O delay writes to): OUTS reads [%rsi], INS writes [%rdi].
 */
SYM_FUNC_START(kx_str_io)
	KX_ARGS
	movl $0x80, %edx
	movq %r9, %rsi
	movl $4, %ecx
KXL(sio_rep_outsb) rep outsb			/* R B+0 4 */
KXL(sio_outsw)	outsw				/* R B+4 2 */
	movq %r8, %rdi
	movl $3, %ecx
KXL(sio_rep_insb) rep insb			/* W A+0 3 */
	RET
SYM_FUNC_END(kx_str_io)

/* PUSH and POP with a memory operand (the stack side is not an event). */
SYM_FUNC_START(kx_pushpop)
	KX_ARGS
KXL(pp_push)	pushq (%r8)			/* R A+0 8 */
KXL(pp_pop)	popq 8(%r8)			/* W A+8 8 */
KXL(pp_push_rip) pushq kx_data+24(%rip)		/* R D+24 8 */
KXL(pp_pop_rip)	popq kx_data+32(%rip)		/* W D+32 8 */
	RET
SYM_FUNC_END(kx_pushpop)

/* XLAT: reads %rbx + %al. */
SYM_FUNC_START(kx_xlat)
	KX_ARGS
	pushq %rbx
	movq %r8, %rbx
	movl $5, %eax
KXL(xlat_5)	xlatb				/* R A+5 1 */
	movl $200, %eax
KXL(xlat_200)	xlatb				/* R A+200 1 */
	popq %rbx
	RET
SYM_FUNC_END(kx_xlat)

/* Called through memory by kx_indirect. */
SYM_FUNC_START(kx_ind_callee)
KXL(ind_callee)	incl 16(%r8)			/* RW A+16 4 */
	RET
SYM_FUNC_END(kx_ind_callee)

/* Jumped to through memory by kx_indirect: returns to its caller. */
SYM_FUNC_START(kx_ind_tail)
KXL(ind_tail)	incl 20(%r8)			/* RW A+20 4 */
	RET
SYM_FUNC_END(kx_ind_tail)

/*
 * Indirect call and jump through memory: A+0 and kx_fptr hold
 * kx_ind_callee, A+8 holds kx_ind_tail.
 */
SYM_FUNC_START(kx_indirect)
	KX_ARGS
	ANNOTATE_RETPOLINE_SAFE
KXL(ind_call)	call *(%r8)			/* R A+0 8 */
	ANNOTATE_RETPOLINE_SAFE
KXL(ind_call_rip) call *kx_fptr(%rip)		/* R &kx_fptr 8 */
	ANNOTATE_RETPOLINE_SAFE
KXL(ind_jmp)	jmp *8(%r8)			/* R A+8 8 */
SYM_FUNC_END(kx_indirect)

/* %gs-relative per-CPU accesses: P = this CPU's kx_pcpu. */
SYM_FUNC_START(kx_gs)
	KX_ARGS
KXL(gs_ld)	movl %gs:kx_pcpu, %eax		/* R P+0 4 */
KXL(gs_st)	movq %rax, %gs:kx_pcpu+8	/* W P+8 8 */
KXL(gs_add)	addl $1, %gs:kx_pcpu+16		/* RW P+16 4 */
KXL(gs_inc)	incq %gs:kx_pcpu+24		/* RW P+24 8 */
	movq $kx_pcpu, %rcx
KXL(gs_reg)	movq %gs:(%rcx), %rdx		/* R P+0 8 */
KXL(gs_cmpxchg)	cmpxchgq %rcx, %gs:kx_pcpu+8	/* RW P+8 8 */
KXL(gs_xadd)	xaddl %eax, %gs:4(%rcx)		/* RW P+4 4 */
	movl $9, %eax
KXL(gs_bt)	btl %eax, %gs:kx_pcpu		/* R P+1 1 */
	RET
SYM_FUNC_END(kx_gs)

/* A string instruction with a %gs-relative source. */
SYM_FUNC_START(kx_gs_str)
	KX_ARGS
	movq $kx_pcpu+8, %rsi
KXL(gss_lodsq)	lodsq %gs:(%rsi), %rax		/* R P+8 8 */
	movq $kx_pcpu+16, %rsi
	movq %r8, %rdi
	movl $2, %ecx
KXL(gss_movsl)	rep movsl %gs:(%rsi), %es:(%rdi) /* R P+16 8, W A+0 8 */
	RET
SYM_FUNC_END(kx_gs_str)

/*
 * %rsp-based accesses, recorded only with process_sp_accesses=1. S is
 * %rsp after the SUB, written to B+0 first (an ordinary write).
 */
SYM_FUNC_START(kx_sp)
	KX_ARGS
	subq $64, %rsp
KXL(sp_report)	movq %rsp, (%r9)		/* W B+0 8 */
KXL(sp_st)	movq %rax, 8(%rsp)		/* W S+8 8 */
KXL(sp_ld)	movl 8(%rsp), %eax		/* R S+8 4 */
KXL(sp_rmw)	addq $1, 16(%rsp)		/* RW S+16 8 */
	movl $2, %ecx
KXL(sp_idx)	movq 8(%rsp,%rcx,8), %rdx	/* R S+24 8 */
KXL(sp_lock)	lock incl 24(%rsp)		/* U S+24 4 */
	movl $70, %eax
KXL(sp_bt)	btq %rax, (%rsp)		/* R S+8 1 */
KXL(sp_bts_imm)	btsl $3, 32(%rsp)		/* RW S+32 4 */
KXL(sp_xchg)	xchgq %rax, 40(%rsp)		/* U S+40 8 */
	leaq 8(%rsp), %rdx
KXL(sp_viareg)	movq (%rdx), %rax		/* R S+8 8: not %rsp-based */
	addq $64, %rsp
	RET
SYM_FUNC_END(kx_sp)

/*
 * PUSH and POP of an %rsp-based operand: PUSH computes the address before
 * it moves %rsp, POP after (SDM): both at S+8 with S as in kx_sp.
 */
SYM_FUNC_START(kx_sp_pushpop)
	KX_ARGS
	subq $64, %rsp
KXL(spp_report)	movq %rsp, 8(%r9)		/* W B+8 8 */
KXL(spp_push)	pushq 8(%rsp)			/* R S+8 8 */
KXL(spp_pop)	popq 8(%rsp)			/* W S+8 8 */
	addq $64, %rsp
	RET
SYM_FUNC_END(kx_sp_pushpop)

/* x87 loads and stores (inside kernel_fpu_begin/end). */
SYM_FUNC_START(kx_x87)
	KX_ARGS
KXL(x87_flds)	flds (%r8)			/* R A+0 4 */
KXL(x87_fldl)	fldl 8(%r8)			/* R A+8 8 */
	faddp
KXL(x87_fstps)	fstps 16(%r8)			/* W A+16 4 */
KXL(x87_fldt)	fldt 32(%r8)			/* R A+32 10 */
KXL(x87_fstpt)	fstpt 48(%r8)			/* W A+48 10 */
KXL(x87_fildl)	fildl 64(%r8)			/* R A+64 4 */
KXL(x87_fistpl)	fistpl 68(%r8)			/* W A+68 4 */
KXL(x87_fnstcw)	fnstcw 72(%r8)			/* W A+72 2 */
KXL(x87_fldcw)	fldcw 72(%r8)			/* R A+72 2 */
	RET
SYM_FUNC_END(kx_x87)

/* SSE loads and stores. */
SYM_FUNC_START(kx_sse)
	KX_ARGS
KXL(sse_movups_ld) movups (%r8), %xmm0		/* R A+0 16 */
KXL(sse_movaps_ld) movaps 16(%r8), %xmm1	/* R A+16 16 */
KXL(sse_movups_st) movups %xmm0, (%r9)		/* W B+0 16 */
KXL(sse_movaps_st) movaps %xmm1, 16(%r9)	/* W B+16 16 */
KXL(sse_movss_ld) movss 32(%r8), %xmm2		/* R A+32 4 */
KXL(sse_movss_st) movss %xmm2, 32(%r9)		/* W B+32 4 */
KXL(sse_movsd_ld) movsd 40(%r8), %xmm3		/* R A+40 8 */
KXL(sse_movsd_st) movsd %xmm3, 40(%r9)		/* W B+40 8 */
KXL(sse_paddd)	paddd 48(%r8), %xmm0		/* R A+48 16 */
KXL(sse_movdqu_st) movdqu %xmm0, 48(%r9)	/* W B+48 16 */
KXL(sse_movq_ld) movq 64(%r8), %xmm4		/* R A+64 8 */
KXL(sse_movq_st) movq %xmm4, 64(%r9)		/* W B+64 8 */
KXL(sse_movd_ld) movd 72(%r8), %xmm5		/* R A+72 4 */
KXL(sse_movhps)	movhps 80(%r8), %xmm0		/* R A+80 8 */
KXL(sse_movntdq) movntdq %xmm0, 96(%r9)		/* W B+96 16 */
KXL(sse_cvt)	cvtsi2sdl 112(%r8), %xmm6	/* R A+112 4 */
KXL(sse_stmxcsr) stmxcsr 116(%r9)		/* W B+116 4 */
KXL(sse_ldmxcsr) ldmxcsr 116(%r9)		/* R B+116 4 */
	RET
SYM_FUNC_END(kx_sse)

/* AVX loads and stores (the caller checks the CPU has AVX). */
SYM_FUNC_START(kx_avx)
	KX_ARGS
KXL(avx_ldu)	vmovdqu 128(%r8), %ymm0		/* R A+128 32 */
KXL(avx_lda)	vmovdqa 160(%r8), %ymm1		/* R A+160 32 */
KXL(avx_stu)	vmovdqu %ymm0, 128(%r9)		/* W B+128 32 */
KXL(avx_sta)	vmovdqa %ymm1, 160(%r9)		/* W B+160 32 */
KXL(avx_bcast)	vbroadcastss 192(%r8), %ymm2	/* R A+192 4 */
KXL(avx_addps)	vaddps 224(%r8), %ymm0, %ymm3	/* R A+224 32 */
KXL(avx_st16)	vmovups %xmm3, 256(%r9)		/* W B+256 16 */
KXL(avx_movss)	vmovss 272(%r8), %xmm4		/* R A+272 4 */
KXL(avx_movd)	vmovd %xmm4, 276(%r9)		/* W B+276 4 */
	vzeroupper
	RET
SYM_FUNC_END(kx_avx)

/* AVX2 (the caller checks). */
SYM_FUNC_START(kx_avx2)
	KX_ARGS
KXL(avx2_paddd)	vpaddd 288(%r8), %ymm0, %ymm0	/* R A+288 32 */
KXL(avx2_bcastq) vpbroadcastq 320(%r8), %ymm1	/* R A+320 8 */
KXL(avx2_st)	vmovdqu %ymm1, 320(%r9)		/* W B+320 32 */
	vzeroupper
	RET
SYM_FUNC_END(kx_avx2)

/* AVX-512 (the caller checks). */
SYM_FUNC_START(kx_avx512)
	KX_ARGS
KXL(avx512_ld)	vmovdqu64 384(%r8), %zmm0	/* R A+384 64 */
KXL(avx512_st)	vmovdqu64 %zmm0, 384(%r9)	/* W B+384 64 */
	vzeroupper
	RET
SYM_FUNC_END(kx_avx512)

/* LEA, NOP with a memory operand, PREFETCH: no access, no event. */
SYM_FUNC_START(kx_noevent)
	KX_ARGS
KXL(ne_lea)	leaq 8(%r8), %rax
KXL(ne_lea_rip)	leaq kx_data(%rip), %rax
KXL(ne_nopl)	nopl 0(%r8)
KXL(ne_nopw)	nopw 0(%r8,%rax,1)
KXL(ne_pf0)	prefetcht0 (%r8)
KXL(ne_pf1)	prefetcht1 64(%r8)
KXL(ne_pfnta)	prefetchnta 128(%r8)
KXL(ne_pfw)	prefetchw (%r8)
KXL(ne_lea_sp)	leaq 8(%rsp), %rax
	RET
SYM_FUNC_END(kx_noevent)
