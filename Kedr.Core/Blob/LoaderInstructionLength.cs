namespace Kedr.Core.Blob;

/// <summary>
/// The loader's instruction-length decoder (kmod/kedr_sample/kedr_insn.c), rule for rule: the blob parser walks
/// a function's copy with it to check that each landing pad goes to an instruction boundary, so
/// <see cref="BlobReader"/> must walk it the same way, byte for byte, even on bytes that are no instruction
/// (Iced refuses many encodings this decoder takes, such as unassigned 0F 38 or VEX opcodes, and takes some it
/// refuses, such as XOP and 3DNow!). It knows the one-byte, 0F, 0F 38 and 0F 3A maps and VEX/EVEX.
/// Tests compare it with the C decoder on random bytes and with Iced on real modules' copies.
/// </summary>
public static class LoaderInstructionLength
{
    private const int MaxLength = 15;

    // What follows an opcode.
    private const byte M = 0x01, I8 = 0x02, I16 = 0x04, IZ = 0x08, IV = 0x10, I32 = 0x20, Moffs = 0x40, Bad = 0x80;

    private static readonly byte[] Map1 = Table(t =>
    {
        foreach (int b in (int[])[0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38])
        {
            Fill(t, b, b + 3, M);
            t[b + 4] = I8;
            t[b + 5] = IZ;
        }
        Fill(t, 0x06, 0x07, Bad); t[0x0e] = Bad; Fill(t, 0x16, 0x17, Bad); Fill(t, 0x1e, 0x1f, Bad);
        t[0x27] = Bad; t[0x2f] = Bad; t[0x37] = Bad; t[0x3f] = Bad;
        Fill(t, 0x60, 0x61, Bad); t[0x63] = M; t[0x68] = IZ; t[0x69] = M | IZ; t[0x6a] = I8; t[0x6b] = M | I8;
        Fill(t, 0x70, 0x7f, I8);
        t[0x80] = M | I8; t[0x81] = M | IZ; t[0x82] = Bad; t[0x83] = M | I8; Fill(t, 0x84, 0x8f, M);
        t[0x9a] = Bad;
        Fill(t, 0xa0, 0xa3, Moffs); t[0xa8] = I8; t[0xa9] = IZ;
        Fill(t, 0xb0, 0xb7, I8); Fill(t, 0xb8, 0xbf, IV);
        Fill(t, 0xc0, 0xc1, M | I8); t[0xc2] = I16; t[0xc6] = M | I8; t[0xc7] = M | IZ;
        t[0xc8] = I16 | I8; t[0xca] = I16; t[0xcd] = I8; t[0xce] = Bad;
        Fill(t, 0xd0, 0xd3, M); Fill(t, 0xd4, 0xd6, Bad); Fill(t, 0xd8, 0xdf, M);
        Fill(t, 0xe0, 0xe7, I8); Fill(t, 0xe8, 0xe9, I32); t[0xea] = Bad; t[0xeb] = I8;
        Fill(t, 0xf6, 0xf7, M); Fill(t, 0xfe, 0xff, M);
    });

    // 0F xx; 0F 38 and 0F 3A are handled apart.
    private static readonly byte[] Map2 = Table(t =>
    {
        Fill(t, 0x00, 0x03, M); t[0x04] = Bad; t[0x0a] = Bad; t[0x0c] = Bad; t[0x0d] = M; t[0x0f] = Bad;
        Fill(t, 0x10, 0x1f, M);
        Fill(t, 0x20, 0x23, M); Fill(t, 0x24, 0x27, Bad);
        Fill(t, 0x28, 0x2f, M);
        t[0x36] = Bad; t[0x39] = Bad; Fill(t, 0x3b, 0x3f, Bad);
        Fill(t, 0x40, 0x6f, M);
        Fill(t, 0x70, 0x73, M | I8); Fill(t, 0x74, 0x76, M);
        Fill(t, 0x78, 0x79, M); Fill(t, 0x7a, 0x7b, Bad); Fill(t, 0x7c, 0x7f, M);
        Fill(t, 0x80, 0x8f, I32);
        Fill(t, 0x90, 0x9f, M);
        t[0xa3] = M; t[0xa4] = M | I8; t[0xa5] = M; Fill(t, 0xa6, 0xa7, Bad);
        t[0xab] = M; t[0xac] = M | I8; Fill(t, 0xad, 0xaf, M);
        Fill(t, 0xb0, 0xb9, M); t[0xba] = M | I8; Fill(t, 0xbb, 0xbf, M);
        Fill(t, 0xc0, 0xc1, M); t[0xc2] = M | I8; t[0xc3] = M; Fill(t, 0xc4, 0xc6, M | I8); t[0xc7] = M;
        Fill(t, 0xd0, 0xff, M);
    });

    private static byte[] Table(Action<byte[]> fill)
    {
        var t = new byte[256];
        fill(t);
        return t;
    }

    private static void Fill(byte[] t, int first, int last, byte v)
    {
        for (int i = first; i <= last; i++) t[i] = v;
    }

    private static bool IsLegacyPrefix(byte b) => b is 0x26 or 0x2e or 0x36 or 0x3e or 0x64 or 0x65 or 0x66 or 0x67 or 0xf0 or 0xf2 or 0xf3;

    /// <summary>Bytes of ModRM, SIB and displacement at the start of <paramref name="p"/>; -1 past its end.</summary>
    private static int ModRmLength(ReadOnlySpan<byte> p)
    {
        if (p.Length == 0) return -1;
        int n = 1, mod = p[0] >> 6, rm = p[0] & 7;
        if (mod != 3 && rm == 4)
        {
            if (p.Length < 2) return -1;
            n++;
            if (mod == 0 && (p[1] & 7) == 5) n += 4;
        }
        if (mod == 0 && rm == 5) n += 4;
        else if (mod == 1) n += 1;
        else if (mod == 2) n += 4;
        return n;
    }

    /// <summary>
    /// The length of the instruction at the start of <paramref name="code"/> (all of it readable), or -1 where
    /// kedr_insn_len() returns -EINVAL: an encoding it does not know, or one that does not fit.
    /// </summary>
    public static int Of(ReadOnlySpan<byte> code)
    {
        var p = code.Length > MaxLength ? code[..MaxLength] : code;
        int avail = p.Length;
        bool opsize16 = false, addr32 = false, rexW = false, vex = false;
        byte rep = 0; // the last F2 or F3
        int i = 0, imm = 0, map = 1;
        for (; ; i++)
        {
            if (i >= avail) return -1;
            if (IsLegacyPrefix(p[i]))
            {
                opsize16 |= p[i] == 0x66;
                if (p[i] is 0xf2 or 0xf3) rep = p[i];
                addr32 |= p[i] == 0x67;
                rexW = false; // a REX not last is ignored
            }
            else if ((p[i] & 0xf0) == 0x40) rexW = (p[i] & 0x8) != 0;
            else break;
        }
        byte op = p[i++];
        if (op is 0xc4 or 0xc5 or 0x62)
        {
            // VEX (3 or 2 bytes) or EVEX (4 bytes), then the opcode.
            int extra = op == 0xc4 ? 2 : op == 0xc5 ? 1 : 3;
            if (i + extra >= avail) return -1;
            map = op == 0xc5 ? 1 : p[i] & (op == 0xc4 ? 0x1f : 0x7);
            if (map < 1 || map > (op == 0x62 ? 6 : 3) || map == 4) return -1;
            vex = true;
            i += extra;
            op = p[i++];
        }
        else if (op == 0x0f)
        {
            if (i >= avail) return -1;
            op = p[i++];
            map = 2;
            if (op is 0x38 or 0x3a)
            {
                map = op == 0x38 ? 3 : 4;
                if (i >= avail) return -1;
                op = p[i++];
            }
        }

        int flags;
        if (vex)
        {
            // VEX.0F 77 (vzeroupper/vzeroall) alone has no ModRM.
            flags = map == 1 && op == 0x77 ? 0 : M;
            if (map == 3 || (map == 1 && (Map2[op] & I8) != 0)) flags |= I8;
        }
        else if (map == 1)
        {
            flags = Map1[op];
            // POP r/m, not AMD's XOP escape.
            if (op == 0x8f && i < avail && (p[i] & 0x1f) >= 8) return -1;
        }
        else if (map == 2)
        {
            flags = Map2[op];
            // SSE4a: INSERTQ (F2 0F 78), EXTRQ (66 0F 78 /0) take two imm8.
            if (op == 0x78 && (rep == 0xf2 || (rep == 0 && opsize16))) flags |= I16;
        }
        else flags = M | (map == 4 ? I8 : 0);
        if ((flags & Bad) != 0) return -1;

        if ((flags & M) != 0)
        {
            // MOV to/from CR/DR: the ModRM is a register, whatever mod says.
            int m = !vex && map == 2 && op is >= 0x20 and <= 0x23 ? (i < avail ? 1 : -1) : ModRmLength(p[i..]);
            if (m < 0) return -1;
            // TEST r/m, imm: group 3 /0 and /1.
            if (map == 1 && !vex && op is 0xf6 or 0xf7 && ((p[i] >> 3) & 7) < 2) flags |= op == 0xf6 ? I8 : IZ;
            i += m;
        }
        if ((flags & I8) != 0) imm += 1;
        if ((flags & I16) != 0) imm += 2;
        // REX.W wins over 66: operand size 64, an Iz stays imm32.
        if ((flags & IZ) != 0) imm += opsize16 && !rexW ? 2 : 4;
        if ((flags & IV) != 0) imm += rexW ? 8 : opsize16 ? 2 : 4;
        if ((flags & I32) != 0) imm += 4;
        if ((flags & Moffs) != 0) imm += addr32 ? 4 : 8;
        i += imm;
        return i <= avail ? i : -1;
    }
}
