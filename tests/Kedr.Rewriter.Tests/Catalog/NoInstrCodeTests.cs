using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Kedr.Core.Elf;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Catalog;

/// <summary>
/// noinstr code (<c>.noinstr.text</c>, <c>.entry.text</c>, <c>.kprobes.text</c>) is never redirected:
/// every function there is left out with the reason, and no copy of it is in the blob.
/// </summary>
public sealed class NoInstrCodeTests
{
    private static readonly string[] Forbidden = [".noinstr.text", ".entry.text", ".kprobes.text"];

    /// <summary>The guest kernel's modules with noinstr code: the KVM modules (kvm_amd's __svm_vcpu_run).</summary>
    [Theory]
    [InlineData("arch/x86/kvm/kvm-amd.ko", "__svm_vcpu_run")]
    [InlineData("arch/x86/kvm/kvm-intel.ko", "__vmx_vcpu_run")]
    [InlineData("arch/x86/kvm/kvm.ko", "kvm_spurious_fault")]
    public void Functions_in_noinstr_sections_are_left_out_with_the_reason(string module, string known)
    {
        var path = KernelCorpus.Module(module);
        var expected = FunctionsInSections(File.ReadAllBytes(path), Forbidden);
        Assert.Contains(known, expected.Keys);

        var result = ModuleRewriter.Rewrite(ElfFile.Read(path));
        var leftOut = result.Report.LeftOut.ToDictionary(l => l.Name);
        foreach (var (name, section) in expected)
        {
            Assert.True(leftOut.TryGetValue(name, out var l), $"{name} ({section}) is not left out");
            Assert.StartsWith($"in {section}: the kernel forbids instrumenting it", l.Reason);
            Assert.Equal(section, l.Section);
        }
        Assert.DoesNotContain(result.Blob.Functions, f => expected.ContainsKey(f.Name));
    }

    /// <summary>
    /// kmod/kedr_pt_goto (built here): one noinstr function and one NOKPROBE_SYMBOL function
    /// (kedr_pt_goto.c), both left out with their reason; its other functions are copied.
    /// </summary>
    [Fact]
    public async Task Noinstr_and_kprobe_blacklisted_functions_of_a_test_target_are_left_out()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Kedr.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("no Kedr.sln");
        var psi = new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "vm", "build-kmod.sh"), "kedr_pt_goto"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using (var p = Process.Start(psi)!)
        {
            var err = p.StandardError.ReadToEndAsync();
            await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            Assert.True(p.ExitCode == 0, "build-kmod.sh kedr_pt_goto: " + await err);
        }
        var path = Path.Combine(root, "kmod", "kedr_pt_goto", "kedr_pt_goto.ko");
        Assert.Equal(new Dictionary<string, string> { ["kedr_pt_goto_noinstr"] = ".noinstr.text" },
            FunctionsInSections(File.ReadAllBytes(path), Forbidden));

        var result = ModuleRewriter.Rewrite(ElfFile.Read(path));
        var leftOut = result.Report.LeftOut.ToDictionary(l => l.Name, l => l.Reason);
        Assert.Equal(2, leftOut.Count);
        Assert.StartsWith("in .noinstr.text: the kernel forbids instrumenting it", leftOut["kedr_pt_goto_noinstr"]);
        Assert.StartsWith("in _kprobe_blacklist (NOKPROBE_SYMBOL): the kernel forbids instrumenting it", leftOut["kedr_pt_goto_nokprobe"]);
        Assert.Contains(result.Blob.Functions, f => f.Name == "kedr_pt_goto_run");
    }

    /// <summary>
    /// The STT_FUNC symbols of 5 bytes or more (the rewriter's functions) defined in the sections named
    /// <paramref name="sections"/>, read straight from the ELF's section headers and symbol table.
    /// </summary>
    internal static Dictionary<string, string> FunctionsInSections(byte[] elf, string[] sections)
    {
        ulong U64(int o) => BinaryPrimitives.ReadUInt64LittleEndian(elf.AsSpan(o));
        uint U32(int o) => BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(o));
        ushort U16(int o) => BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(o));
        string Str(int o) => Encoding.ASCII.GetString(elf, o, Array.IndexOf(elf, (byte)0, o) - o);

        int shoff = (int)U64(0x28), shnum = U16(0x3c), shstrndx = U16(0x3e);
        int Sh(int i) => shoff + i * 64;
        int shstr = (int)U64(Sh(shstrndx) + 24);
        var names = Enumerable.Range(0, shnum).Select(i => Str(shstr + (int)U32(Sh(i)))).ToArray();
        int symtab = Enumerable.Range(0, shnum).Single(i => U32(Sh(i) + 4) == 2); // SHT_SYMTAB
        int symOff = (int)U64(Sh(symtab) + 24), symCount = (int)U64(Sh(symtab) + 32) / 24;
        int strOff = (int)U64(Sh((int)U32(Sh(symtab) + 40)) + 24);
        var found = new Dictionary<string, string>();
        for (int i = 0; i < symCount; i++)
        {
            int s = symOff + i * 24;
            int shndx = U16(s + 6);
            if ((elf[s + 4] & 0xf) != 2 || shndx == 0 || shndx >= shnum || U64(s + 16) < 5) continue; // STT_FUNC
            if (Array.IndexOf(sections, names[shndx]) >= 0) found.TryAdd(Str(strOff + (int)U32(s)), names[shndx]);
        }
        return found;
    }
}
