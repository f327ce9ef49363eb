using System.Diagnostics;
using System.Globalization;
using Iced.Intel;
using Kedr.Core.Elf;
using Kedr.Kernel.Tests.Vm;
using Kedr.Rewriter;
using Xunit.Abstractions;

namespace Kedr.Kernel.Tests.Loader;

/// <summary>
/// kedr_sample's instruction-length decoder (kmod/kedr_sample/kedr_insn.c, with which the blob parser
/// checks that a landing pad goes to an instruction boundary of its copy), built for the host and
/// compared with Iced on every instruction of real modules' functions and of the rewriter's copies
/// of them (its own sequences: event calls, saved registers, pushf/popf, jump slots).
/// </summary>
public sealed class InsnLengthTests(ITestOutputHelper output)
{
    /// <summary>Jump tables, SSE/AVX/AVX-512 crypto (VEX, EVEX), VMX/SVM, a big C module.</summary>
    [Theory]
    [InlineData("arch/x86/crypto/crc32c-intel.ko")]
    [InlineData("arch/x86/crypto/aesni-intel.ko")]
    [InlineData("arch/x86/crypto/sha512-ssse3.ko")]
    [InlineData("arch/x86/crypto/poly1305-x86_64.ko")]
    [InlineData("arch/x86/kvm/kvm-intel.ko")]
    [InlineData("arch/x86/kvm/kvm-amd.ko")]
    [InlineData("fs/btrfs/btrfs.ko")]
    public async Task Lengths_agree_with_Iced_on_originals_and_copies(string module)
    {
        var dir = Directory.GetDirectories("/lib/modules", "*-cloud-amd64").Select(d => Path.Combine(d, "kernel"))
            .FirstOrDefault(Directory.Exists) ?? throw new InvalidOperationException("no /lib/modules/*-cloud-amd64/kernel (scripts/vm/setup.sh)");
        var elf = ElfFile.Read(Path.Combine(dir, module));
        var work = Directory.CreateTempSubdirectory("kedr-insn.").FullName;
        try
        {
            var tool = await BuildAsync(work);
            // The originals: every function symbol of an executable section with bytes.
            var image = new MemoryStream();
            var ranges = new List<(long Start, long End)>();
            foreach (var sec in elf.Sections.Where(s => s.IsExecutable && s.Type != ElfConstants.ShtNobits))
            {
                long baseOff = image.Length;
                image.Write(sec.Data.Span);
                foreach (var s in elf.Symbols.Where(s => s.IsFunction && s.SectionIndex == sec.Index && s.Size > 0))
                    ranges.Add((baseOff + (long)s.Value, baseOff + (long)(s.Value + s.Size)));
            }
            int originals = await CompareAsync(tool, work, "orig", image.ToArray(), ranges);
            var blob = ModuleRewriter.Rewrite(elf).Blob;
            int copies = await CompareAsync(tool, work, "copy", blob.Code,
                blob.Functions.Select(f => ((long)f.CopyOffset, (long)(f.CopyOffset + f.CopySize))).ToList());
            output.WriteLine($"{module}: {originals} instructions of the originals, {copies} of the copies agree");
            Assert.True(originals > 100 && copies > originals, $"{originals} / {copies} instructions compared");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>
    /// Encodings whose length does not follow the usual rules, found by comparing with Iced on random
    /// bytes: 66 together with REX.W (REX.W wins: an Iz operand stays imm32; MOV r64, imm stays imm64),
    /// MOV to/from CR/DR (ModRM always a register, whatever mod says), SSE4a's INSERTQ/EXTRQ (0F 78 with
    /// F2 or 66: two imm8). Compilers rarely emit them; hand-written code can. Iced is the reference.
    /// </summary>
    [Theory]
    [InlineData("664881C078563412")]     // add rax, imm32 (81 /0 Iz)
    [InlineData("66480578563412")]       // add rax, imm32 (05 Iz)
    [InlineData("6648C7C078563412")]     // mov rax, imm32 (C7 /0 Iz)
    [InlineData("664869C078563412")]     // imul rax, rax, imm32 (69 /r Iz)
    [InlineData("6648A978563412")]       // test rax, imm32 (A9 Iz)
    [InlineData("6648F7C078563412")]     // test rax, imm32 (F7 /0 Iz)
    [InlineData("6648B8EFCDAB8967452301")] // mov rax, imm64 (B8+r Iv)
    [InlineData("4866B8EFCD")]           // REX before 66: ignored, mov ax, imm16
    [InlineData("6681C07856")]           // add ax, imm16
    [InlineData("410F225B")]             // mov cr3, r11: MOV CR/DR take ModRM as a register whatever its mod
    [InlineData("0F2387")]               // mov dr0, rdi (mod 2: no disp32)
    [InlineData("0F2104")]               // mov rsp, dr0 (mod 0, rm 4: no SIB)
    [InlineData("F20F78C5AEE9")]         // insertq xmm0, xmm5, imm8, imm8 (F2 0F 78)
    [InlineData("660F78C0AEE9")]         // extrq xmm0, imm8, imm8 (66 0F 78 /0)
    public async Task Lengths_agree_with_Iced_on_irregular_encodings(string hex)
    {
        var code = Convert.FromHexString(hex);
        var work = Directory.CreateTempSubdirectory("kedr-insn.").FullName;
        try
        {
            var tool = await BuildAsync(work);
            // Room after the instruction: the decoder must not rely on the end of the buffer.
            var image = code.Concat(Enumerable.Repeat((byte)0xcc, 16)).ToArray();
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(image), 0);
            decoder.Decode(out var ins);
            Assert.False(ins.IsInvalid, $"Iced: {hex} is not an instruction");
            Assert.Equal(code.Length, ins.Length);
            Assert.Equal(1, await CompareAsync(tool, work, "pair", image, [(0, image.Length)], first: true));
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>Iced's length of each instruction in <paramref name="ranges"/> against the C decoder's.</summary>
    private async Task<int> CompareAsync(string tool, string work, string name, byte[] image, List<(long Start, long End)> ranges,
        bool first = false)
    {
        var path = Path.Combine(work, name + ".bin");
        await File.WriteAllBytesAsync(path, image);
        var queries = new List<(long At, long End, int Length, string Text)>();
        foreach (var (start, end) in ranges)
        {
            var decoder = Decoder.Create(64, new ByteArrayCodeReader(image, (int)start, (int)(end - start)), (ulong)start);
            while (decoder.IP < (ulong)end)
            {
                decoder.Decode(out var ins);
                if (ins.IsInvalid) break; // data or padding: Iced's word is the reference only for instructions
                queries.Add(((long)ins.IP, end, ins.Length, ins.ToString()));
                if (first) break;
            }
        }
        var psi = new ProcessStartInfo(tool, [path]) { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var reading = p.StandardOutput.ReadToEndAsync();
        foreach (var q in queries) await p.StandardInput.WriteLineAsync($"{q.At} {q.End}");
        p.StandardInput.Close();
        var lines = (await reading).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        Assert.Equal(queries.Count, lines.Length);
        var wrong = queries.Zip(lines).Where(x => int.Parse(x.Second, CultureInfo.InvariantCulture) != x.First.Length)
            .Select(x => $"{name}+0x{x.First.At:x} {Convert.ToHexString(image, (int)x.First.At, x.First.Length)} ({x.First.Text}): Iced {x.First.Length}, kedr_insn_len {x.Second}")
            .Take(20).ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
        return queries.Count;
    }

    /// <summary>kedr_insn.c and the driver, with stand-ins for the two kernel headers it includes.</summary>
    private static async Task<string> BuildAsync(string work)
    {
        Directory.CreateDirectory(Path.Combine(work, "linux"));
        await File.WriteAllTextAsync(Path.Combine(work, "linux", "errno.h"), "#define EINVAL 22\n");
        await File.WriteAllTextAsync(Path.Combine(work, "linux", "types.h"), "#include <stdbool.h>\ntypedef unsigned char u8;\n");
        await File.WriteAllTextAsync(Path.Combine(work, "kedr_sample.h"), "int kedr_insn_len(const u8 *p, unsigned int avail);\n");
        // Copied next to the stand-in kedr_sample.h, which "kedr_sample.h" then finds first.
        File.Copy(Path.Combine(RepoPaths.Root, "kmod", "kedr_sample", "kedr_insn.c"), Path.Combine(work, "kedr_insn.c"));
        var tool = Path.Combine(work, "insn_len");
        var psi = new ProcessStartInfo("gcc", ["-O2", "-Wall", "-Werror", "-I", work, "-o", tool, Path.Combine(work, "kedr_insn.c"),
            Path.Combine(RepoPaths.Root, "tests", "Kedr.Kernel.Tests", "Loader", "insn_len_main.c")])
        { RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, "gcc: " + err);
        return tool;
    }
}
