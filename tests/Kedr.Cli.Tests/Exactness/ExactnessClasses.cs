using static Kedr.Cli.Tests.Exactness.Semantics;

namespace Kedr.Cli.Tests.Exactness;

/// <summary>
/// One class of instructions: the exactness target's case for it (kmod/kedr_exactness_target,
/// a function in assembly), the functions whose events belong to it, and the events it must
/// give, in order, derived from the instructions the case executes (the operands it sets up
/// itself, the buffers the module reports, the data kedr_exactness_main.c prepares) and
/// <see cref="Semantics"/>.
/// </summary>
internal sealed record ExactnessClass(string Name, string Case, string[] Functions, Func<GuestFacts, CaseRun, Access[]> Expected)
{
    /// <summary>A CPU feature (/proc/cpuinfo flag) the case needs; without it the case cannot run.</summary>
    public string? CpuFlag { get; init; }

    public override string ToString() => Name;
}

internal static class ExactnessClasses
{
    private static string L(string name) => "kxl_" + name;

    private static Access[] Seq(params Access[][] parts) => [.. parts.SelectMany(p => p)];

    public static readonly ExactnessClass[] All =
    [
        new("mov", "kx_mov", ["kx_mov"], (f, _) => Seq(
            Read(L("mov_ld1"), f.A + 0, 1),
            Read(L("mov_ld2"), f.A + 2, 2),
            Read(L("mov_ld4"), f.A + 4, 4),
            Read(L("mov_ld8"), f.A + 8, 8),
            Write(L("mov_st1"), f.A + 16, 1),
            Write(L("mov_st1h"), f.A + 17, 1),
            Write(L("mov_st2"), f.A + 18, 2),
            Write(L("mov_st4"), f.A + 20, 4),
            Write(L("mov_st8"), f.A + 24, 8),
            Write(L("mov_imm4"), f.A + 32, 4),
            Write(L("mov_imm8"), f.A + 40, 8),
            Read(L("mov_idx"), f.A + 16 + 3 * 8, 8),
            Read(L("mov_rip_ld"), f.D + 8, 4),
            Write(L("mov_rip_st"), f.D + 12, 4),
            Read(L("mov_neg"), f.B + 64 - 8, 8),
            Write(L("mov_r12"), f.A + 48, 8),
            Read(L("mov_moffs_ld"), f.D + 48, 4),
            Write(L("mov_moffs_st"), f.D + 52, 4))),

        new("xchg", "kx_xchg", ["kx_xchg"], (f, _) => Seq(
            Locked(L("xchg_4"), f.A + 0, 4),
            Locked(L("xchg_8"), f.A + 8, 8),
            Locked(L("xchg_1"), f.A + 16, 1),
            Locked(L("xchg_2"), f.A + 18, 2),
            Locked(L("xchg_lock"), f.A + 20, 4))),

        new("movsx_movzx", "kx_movx", ["kx_movx"], (f, _) => Seq(
            Read(L("movx_zb"), f.A + 0, 1),
            Read(L("movx_zw"), f.A + 2, 2),
            Read(L("movx_sbq"), f.A + 4, 1),
            Read(L("movx_swl"), f.A + 6, 2),
            Read(L("movx_slq"), f.A + 8, 4),
            Read(L("movx_zbw"), f.A + 12, 1))),

        new("movbe", "kx_movbe", ["kx_movbe"], (f, _) => Seq(
            Read(L("movbe_ld4"), f.A + 0, 4),
            Write(L("movbe_st8"), f.A + 8, 8),
            Read(L("movbe_ld2"), f.A + 16, 2))) { CpuFlag = "movbe" },

        new("setcc", "kx_setcc", ["kx_setcc"], (f, _) => Seq(
            Write(L("setcc_e"), f.A + 0, 1),
            Write(L("setcc_ne"), f.A + 1, 1),
            Write(L("setcc_b"), f.A + 2, 1))),

        new("cmov_taken_and_not", "kx_cmov", ["kx_cmov"], (f, _) => Seq(
            Read(L("cmov_taken"), f.A + 0, 4),
            Read(L("cmov_not"), f.A + 8, 8),
            Read(L("cmov_not2"), f.A + 16, 2))),

        new("arith_logic", "kx_arith", ["kx_arith"], (f, _) => Seq(
            ReadWrite(L("ar_add_rm"), f.A + 0, 4),
            Read(L("ar_add_mr"), f.A + 0, 4),
            ReadWrite(L("ar_sub"), f.A + 8, 8),
            ReadWrite(L("ar_and"), f.A + 16, 1),
            ReadWrite(L("ar_or"), f.A + 18, 2),
            Read(L("ar_xor"), f.A + 20, 4),
            ReadWrite(L("ar_adc"), f.A + 24, 8),
            ReadWrite(L("ar_sbb"), f.A + 32, 4),
            ReadWrite(L("ar_inc"), f.A + 36, 4),
            ReadWrite(L("ar_dec"), f.A + 40, 8),
            ReadWrite(L("ar_neg"), f.A + 48, 1),
            ReadWrite(L("ar_not"), f.A + 50, 2),
            ReadWrite(L("ar_shl"), f.A + 52, 4),
            ReadWrite(L("ar_sar"), f.A + 56, 8),
            ReadWrite(L("ar_rol"), f.A + 64, 2),
            ReadWrite(L("ar_rcr"), f.A + 68, 4),
            Read(L("ar_test"), f.A + 72, 4),
            Read(L("ar_testb"), f.A + 76, 1),
            Read(L("ar_imul"), f.A + 80, 4),
            Read(L("ar_imul3"), f.A + 88, 8),
            Read(L("ar_mul"), f.A + 96, 4),
            Read(L("ar_div"), f.A + 100, 4),
            Read(L("ar_idiv"), f.A + 104, 8),
            ReadWrite(L("ar_shld"), f.A + 112, 4),
            ReadWrite(L("ar_rip"), f.D + 16, 4))),

        new("cmp", "kx_cmp", ["kx_cmp"], (f, _) => Seq(
            Read(L("cmp_rm"), f.A + 0, 4),
            Read(L("cmp_imm1"), f.A + 4, 1),
            Read(L("cmp_mr"), f.A + 0, 8),
            Read(L("cmp_imm2"), f.A + 8, 2),
            Read(L("cmp_rip"), f.D + 20, 4))),

        // The module checks that the first of each pair succeeded and the second failed.
        new("cmpxchg_success_failure", "kx_cmpxchg", ["kx_cmpxchg"], (f, _) => Seq(
            ReadWrite(L("cx_ok"), f.A + 0, 4),
            ReadWrite(L("cx_fail"), f.A + 0, 4),
            Locked(L("cx_lock_ok"), f.A + 8, 8),
            Locked(L("cx_lock_fail"), f.A + 8, 8))),

        new("cmpxchg8b_16b", "kx_cmpxchg8b16b", ["kx_cmpxchg8b16b"], (f, _) => Seq(
            ReadWrite(L("c8_ok"), f.A + 16, 8),
            ReadWrite(L("c8_fail"), f.A + 16, 8),
            Locked(L("c8_lock_ok"), f.A + 48, 8),
            Locked(L("c8_lock_fail"), f.A + 48, 8),
            ReadWrite(L("c16_ok"), f.A + 32, 16),
            ReadWrite(L("c16_fail"), f.A + 32, 16),
            Locked(L("c16_lock_ok"), f.A + 64, 16),
            Locked(L("c16_lock_fail"), f.A + 64, 16))) { CpuFlag = "cx16" },

        new("xadd", "kx_xadd", ["kx_xadd"], (f, _) => Seq(
            ReadWrite(L("xadd_4"), f.A + 0, 4),
            Locked(L("xadd_lock"), f.A + 8, 8),
            ReadWrite(L("xadd_1"), f.A + 16, 1))),

        new("lock_prefixed", "kx_lock", ["kx_lock"], (f, _) => Seq(
            Locked(L("lk_add"), f.A + 0, 4),
            Locked(L("lk_inc"), f.A + 8, 8),
            Locked(L("lk_dec"), f.A + 16, 2),
            Locked(L("lk_or"), f.A + 18, 1),
            Locked(L("lk_and"), f.A + 20, 4),
            Locked(L("lk_xor"), f.A + 24, 8),
            Locked(L("lk_sub"), f.A + 32, 4),
            Locked(L("lk_neg"), f.A + 36, 4),
            Locked(L("lk_not"), f.A + 40, 8),
            Locked(L("lk_adc"), f.A + 48, 4),
            Locked(L("lk_sbb"), f.A + 52, 2))),

        new("bitop_immediate", "kx_bitimm", ["kx_bitimm"], (f, _) => Seq(
            BitImmediate(L("bi_bt"), BitOp.Bt, false, f.A + 0, 4),
            BitImmediate(L("bi_bts"), BitOp.Bts, false, f.A + 8, 8),
            BitImmediate(L("bi_btr"), BitOp.Btr, false, f.A + 16, 2),
            BitImmediate(L("bi_btc"), BitOp.Btc, false, f.A + 20, 4),
            BitImmediate(L("bi_lock"), BitOp.Bts, true, f.A + 24, 4),
            BitImmediate(L("bi_wrap"), BitOp.Bt, false, f.A + 28, 4))),

        // Offsets: small, negative, upper half of the register to ignore, 16-bit negative,
        // large either way (+-4 KiB in bytes), locked, with an index, RIP-relative base; -1 and
        // -17 (not a multiple of the unit: floor, not truncation). 16, 32 and 64-bit operands.
        new("bitop_register_offset", "kx_bitreg", ["kx_bitreg"], (f, _) =>
        {
            ulong cb = f.C + 4096;
            return Seq(
                BitInRegister(L("br_bt"), BitOp.Bt, false, cb, 5, 8),
                BitInRegister(L("br_bts_neg"), BitOp.Bts, false, cb, unchecked((ulong)-9L), 8),
                BitInRegister(L("br_btr32"), BitOp.Btr, false, cb, 0xffffffff00000010, 4),
                BitInRegister(L("br_btc16"), BitOp.Btc, false, cb, 0x1234ffff, 2),
                BitInRegister(L("br_bt_large"), BitOp.Bt, false, cb, 30000, 4),
                BitInRegister(L("br_bt_lneg"), BitOp.Bt, false, cb, unchecked((ulong)-32768L), 8),
                BitInRegister(L("br_bts_max"), BitOp.Bts, false, cb, 32767, 8),
                BitInRegister(L("br_bt16neg"), BitOp.Bt, false, cb, 0x7fff8000, 2),
                BitInRegister(L("br_lock"), BitOp.Bts, true, cb, 64, 8),
                BitInRegister(L("br_lock_neg"), BitOp.Btr, true, cb, unchecked((ulong)-64L), 4),
                BitInRegister(L("br_index"), BitOp.Bt, false, cb + 16 + 2 * 8, unchecked((ulong)-3L), 8),
                BitInRegister(L("br_rip"), BitOp.Bt, false, f.D, 70, 4),
                BitInRegister(L("br_bt32_m1"), BitOp.Bt, false, cb, 0xffffffff, 4),
                BitInRegister(L("br_bt16_m17"), BitOp.Bt, false, cb, 0xffffffef, 2));
        }),

        // kedr_exactness_main.c: B+168 = 1 (the REPE CMPSD stops at its 3rd dword), A+261 = 0x5a
        // (the REPNE SCASB stops at its 6th byte), A+300.. = B+300.. (all 8 bytes compared).
        new("string_df0", "kx_str", ["kx_str"], (f, _) => Seq(
            String(L("s_lodsb"), StringOp.Lods, 1, 1, false, f.B, 0),
            String(L("s_lodsq"), StringOp.Lods, 8, 1, false, f.B + 8, 0),
            String(L("s_stosl"), StringOp.Stos, 4, 1, false, 0, f.A + 16),
            String(L("s_stosw"), StringOp.Stos, 2, 1, false, 0, f.A + 20),
            String(L("s_scasb"), StringOp.Scas, 1, 1, false, 0, f.A + 24),
            String(L("s_movsq"), StringOp.Movs, 8, 1, false, f.B + 32, f.A + 32),
            String(L("s_movsb"), StringOp.Movs, 1, 1, false, f.B + 40, f.A + 40),
            String(L("s_cmpsl"), StringOp.Cmps, 4, 1, false, f.B + 48, f.A + 48),
            String(L("s_rep_movsb"), StringOp.Movs, 1, 13, false, f.B + 64, f.A + 64),
            String(L("s_rep_movsq"), StringOp.Movs, 8, 4, false, f.B + 80, f.A + 80),
            String(L("s_rep_stosq"), StringOp.Stos, 8, 4, false, 0, f.A + 128),
            String(L("s_rep_stosb"), StringOp.Stos, 1, 7, false, 0, f.A + 160),
            String(L("s_rep_lodsl"), StringOp.Lods, 4, 3, false, f.B + 128, 0),
            String(L("s_repe_cmpsl"), StringOp.Cmps, 4, 3, false, f.B + 160, f.A + 200),
            String(L("s_repne_scasb"), StringOp.Scas, 1, 6, false, 0, f.A + 256),
            String(L("s_repe_cmpsb"), StringOp.Cmps, 1, 8, false, f.B + 300, f.A + 300),
            String(L("s_rep_stosw"), StringOp.Stos, 2, 3, false, 0, f.A + 320))),

        // A+48 = 0x5a5a: the REPNE SCASQ going down from A+64 stops at its 3rd qword;
        // A+7..10 = B+7..10: the REPE CMPSB going down from +10 compares all 4.
        new("string_df1", "kx_str_df1", ["kx_str_df1"], (f, _) => Seq(
            String(L("sd_rep_movsl"), StringOp.Movs, 4, 3, true, f.B + 200, f.A + 200),
            String(L("sd_lodsw"), StringOp.Lods, 2, 1, true, f.B + 100, 0),
            String(L("sd_rep_stosb"), StringOp.Stos, 1, 5, true, 0, f.A + 100),
            String(L("sd_repne_scasq"), StringOp.Scas, 8, 3, true, 0, f.A + 64),
            String(L("sd_repe_cmpsb"), StringOp.Cmps, 1, 4, true, f.B + 10, f.A + 10),
            String(L("sd_movsq"), StringOp.Movs, 8, 1, true, f.B + 304, f.A + 304))),

        new("string_zero_count", "kx_str_zero", ["kx_str_zero"], (f, _) => Seq(
            String(L("sz_movsb"), StringOp.Movs, 1, 0, false, f.B, f.A),
            String(L("sz_stosl"), StringOp.Stos, 4, 0, false, 0, f.A),
            String(L("sz_cmpsb"), StringOp.Cmps, 1, 0, false, f.B, f.A),
            String(L("sz_scasb"), StringOp.Scas, 1, 0, false, 0, f.A),
            String(L("sz_lodsq"), StringOp.Lods, 8, 0, false, f.B, 0),
            String(L("sz_movsq_df1"), StringOp.Movs, 8, 0, true, f.B, f.A))),

        new("string_io", "kx_str_io", ["kx_str_io"], (f, _) => Seq(
            String(L("sio_rep_outsb"), StringOp.Outs, 1, 4, false, f.B, 0),
            String(L("sio_outsw"), StringOp.Outs, 2, 1, false, f.B + 4, 0),
            String(L("sio_rep_insb"), StringOp.Ins, 1, 3, false, 0, f.A))),

        new("push_pop_memory", "kx_pushpop", ["kx_pushpop"], (f, _) => Seq(
            Read(L("pp_push"), f.A + 0, 8),
            Write(L("pp_pop"), f.A + 8, 8),
            Read(L("pp_push_rip"), f.D + 24, 8),
            Write(L("pp_pop_rip"), f.D + 32, 8))),

        new("xlat", "kx_xlat", ["kx_xlat"], (f, _) => Seq(
            Read(L("xlat_5"), f.A + 5, 1),
            Read(L("xlat_200"), f.A + 200, 1))),

        // A+0 and kx_fptr hold kx_ind_callee, A+8 kx_ind_tail.
        new("indirect_call_jmp", "kx_indirect", ["kx_indirect", "kx_ind_callee", "kx_ind_tail"], (f, _) => Seq(
            Read(L("ind_call"), f.A + 0, 8),
            ReadWrite(L("ind_callee"), f.A + 16, 4),
            Read(L("ind_call_rip"), f.Fptr, 8),
            ReadWrite(L("ind_callee"), f.A + 16, 4),
            Read(L("ind_jmp"), f.A + 8, 8),
            ReadWrite(L("ind_tail"), f.A + 20, 4))),

        // P: this CPU's kx_pcpu (its linear address: GS base included) as the module saw it.
        new("gs_percpu", "kx_gs", ["kx_gs"], (f, r) => Seq(
            Read(L("gs_ld"), r.Pcpu + 0, 4),
            Write(L("gs_st"), r.Pcpu + 8, 8),
            ReadWrite(L("gs_add"), r.Pcpu + 16, 4),
            ReadWrite(L("gs_inc"), r.Pcpu + 24, 8),
            Read(L("gs_reg"), r.Pcpu + 0, 8),
            ReadWrite(L("gs_cmpxchg"), r.Pcpu + 8, 8),
            ReadWrite(L("gs_xadd"), r.Pcpu + 4, 4),
            BitInRegister(L("gs_bt"), BitOp.Bt, false, r.Pcpu, 9, 4))),

        // %rsi holds kx_pcpu's per-CPU offset, the %gs override adds the GS base: P's linear
        // address. [%rdi] is %es-relative (base 0) whatever the override.
        new("gs_string", "kx_gs_str", ["kx_gs_str"], (f, r) => Seq(
            String(L("gss_lodsq"), StringOp.Lods, 8, 1, false, r.Pcpu + 8, 0),
            String(L("gss_movsl"), StringOp.Movs, 4, 2, false, r.Pcpu + 16, f.A))),

        // S: %rsp after the case's SUB, which it stores at B+0.
        new("rsp_based", "kx_sp", ["kx_sp"], (f, r) =>
        {
            ulong s = r.Sp ?? throw new Xunit.Sdk.XunitException("kx_sp reported no sp=");
            return Seq(
                Write(L("sp_report"), f.B + 0, 8),
                Write(L("sp_st"), s + 8, 8, sp: true),
                Read(L("sp_ld"), s + 8, 4, sp: true),
                ReadWrite(L("sp_rmw"), s + 16, 8, sp: true),
                Read(L("sp_idx"), s + 8 + 2 * 8, 8, sp: true),
                Locked(L("sp_lock"), s + 24, 4, sp: true),
                BitInRegister(L("sp_bt"), BitOp.Bt, false, s, 70, 8, sp: true),
                BitImmediate(L("sp_bts_imm"), BitOp.Bts, false, s + 32, 4, sp: true),
                Locked(L("sp_xchg"), s + 40, 8, sp: true),
                Read(L("sp_viareg"), s + 8, 8));
        }),

        // PUSH computes an %rsp-based address before it moves %rsp, POP after it (SDM): with
        // S = %rsp after the SUB (stored at B+8), both access S+8.
        new("rsp_based_push_pop", "kx_sp_pushpop", ["kx_sp_pushpop"], (f, r) =>
        {
            ulong s = r.Sp ?? throw new Xunit.Sdk.XunitException("kx_sp_pushpop reported no sp=");
            return Seq(
                Write(L("spp_report"), f.B + 8, 8),
                Read(L("spp_push"), s + 8, 8, sp: true),
                Write(L("spp_pop"), s + 8, 8, sp: true));
        }),

        new("x87", "kx_x87", ["kx_x87"], (f, _) => Seq(
            Read(L("x87_flds"), f.A + 0, 4),
            Read(L("x87_fldl"), f.A + 8, 8),
            Write(L("x87_fstps"), f.A + 16, 4),
            Read(L("x87_fldt"), f.A + 32, 10),
            Write(L("x87_fstpt"), f.A + 48, 10),
            Read(L("x87_fildl"), f.A + 64, 4),
            Write(L("x87_fistpl"), f.A + 68, 4),
            Write(L("x87_fnstcw"), f.A + 72, 2),
            Read(L("x87_fldcw"), f.A + 72, 2))),

        new("sse", "kx_sse", ["kx_sse"], (f, _) => Seq(
            Read(L("sse_movups_ld"), f.A + 0, 16),
            Read(L("sse_movaps_ld"), f.A + 16, 16),
            Write(L("sse_movups_st"), f.B + 0, 16),
            Write(L("sse_movaps_st"), f.B + 16, 16),
            Read(L("sse_movss_ld"), f.A + 32, 4),
            Write(L("sse_movss_st"), f.B + 32, 4),
            Read(L("sse_movsd_ld"), f.A + 40, 8),
            Write(L("sse_movsd_st"), f.B + 40, 8),
            Read(L("sse_paddd"), f.A + 48, 16),
            Write(L("sse_movdqu_st"), f.B + 48, 16),
            Read(L("sse_movq_ld"), f.A + 64, 8),
            Write(L("sse_movq_st"), f.B + 64, 8),
            Read(L("sse_movd_ld"), f.A + 72, 4),
            Read(L("sse_movhps"), f.A + 80, 8),
            Write(L("sse_movntdq"), f.B + 96, 16),
            Read(L("sse_cvt"), f.A + 112, 4),
            Write(L("sse_stmxcsr"), f.B + 116, 4),
            Read(L("sse_ldmxcsr"), f.B + 116, 4))),

        new("avx", "kx_avx", ["kx_avx"], (f, _) => Seq(
            Read(L("avx_ldu"), f.A + 128, 32),
            Read(L("avx_lda"), f.A + 160, 32),
            Write(L("avx_stu"), f.B + 128, 32),
            Write(L("avx_sta"), f.B + 160, 32),
            Read(L("avx_bcast"), f.A + 192, 4),
            Read(L("avx_addps"), f.A + 224, 32),
            Write(L("avx_st16"), f.B + 256, 16),
            Read(L("avx_movss"), f.A + 272, 4),
            Write(L("avx_movd"), f.B + 276, 4))) { CpuFlag = "avx" },

        new("avx2", "kx_avx2", ["kx_avx2"], (f, _) => Seq(
            Read(L("avx2_paddd"), f.A + 288, 32),
            Read(L("avx2_bcastq"), f.A + 320, 8),
            Write(L("avx2_st"), f.B + 320, 32))) { CpuFlag = "avx2" },

        new("avx512", "kx_avx512", ["kx_avx512"], (f, _) => Seq(
            Read(L("avx512_ld"), f.A + 384, 64),
            Write(L("avx512_st"), f.B + 384, 64))) { CpuFlag = "avx512f" },

        new("lea_nop_prefetch_no_event", "kx_noevent", ["kx_noevent"], (_, _) => []),
    ];
}
