using System.Buffers.Binary;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests;

/// <summary>
/// The damage <see cref="ModuleRewriterFuzzTests"/> found crashing the rewriter, one case each, so that a
/// change of the mutator or its seed cannot lose them: a real module with one field changed (offsets from
/// the ELF64 specification), which the ELF reader accepts. <see cref="ModuleRewriter.TryRewrite(ElfFile, out RewriteResult?, out KedrDiagnostic?)"/>
/// must write a blob the blob reader reads back, with the damaged code left alone.
/// </summary>
public sealed class ModuleRewriterDamagedInputTests
{
    private const string Module = "drivers/net/dummy.ko";

    // Elf64_Shdr and Elf64_Sym / Elf64_Rela field offsets.
    private const int ShType = 4, StValue = 8, RInfoSymbol = 12;

    private static ElfFile Damaged(Action<byte[], ElfFile> change)
    {
        var path = KernelCorpus.Module(Module);
        var bytes = File.ReadAllBytes(path);
        change(bytes, ElfFile.Read(path));
        Assert.True(ElfFile.TryRead(bytes, path, out var elf, out var error), $"the ELF reader refuses the damaged module: {error}");
        return elf!;
    }

    private static long HeaderOffset(byte[] b, ElfSection sec) => (long)BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(0x28)) + sec.Index * 64L;

    private static RewriteResult RewriteAndReadBack(ElfFile elf)
    {
        Assert.True(ModuleRewriter.TryRewrite(elf, out var result, out var error), error?.ToString());
        Assert.True(BlobReader.TryRead(BlobWriter.Write(result!.Blob), "damaged.kedr", out _, out var blobError),
            $"the blob written is refused by the blob reader: {blobError}");
        return result;
    }

    /// <summary>st_value + st_size wraps around: the function is not inside its section.</summary>
    [Fact]
    public void A_function_whose_huge_st_value_wraps_past_its_section_end_is_not_copied()
    {
        string name = "";
        var elf = Damaged((b, e) =>
        {
            var sym = e.Symbols.First(s => s.IsFunction && s.IsDefinedInSection && s.Size >= 16 && e.Sections[s.SectionIndex].Name == ".text");
            name = sym.Name;
            long at = (long)e.FindSection(".symtab")!.FileOffset + sym.Index * 24L + StValue;
            BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan((int)at), ulong.MaxValue - 7);
        });
        Assert.Contains(new FunctionCatalog(elf).Skipped, s => s.Symbol.Name == name && s.Reason.StartsWith("extends past the end", StringComparison.Ordinal));
        var result = RewriteAndReadBack(elf);
        Assert.DoesNotContain(result.Blob.Functions, f => f.Name == name);
    }

    /// <summary>An executable section whose sh_type is SHT_NULL: its sh_size says bytes the file does not give it.</summary>
    [Fact]
    public void An_executable_section_turned_SHT_NULL_is_not_code()
    {
        var elf = Damaged((b, e) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)HeaderOffset(b, e.FindSection(".text")!) + ShType), 0));
        var text = elf.FindSection(".text")!;
        Assert.True(text.IsExecutable && text.Size > 0 && text.Data.IsEmpty);
        Assert.DoesNotContain(new FunctionCatalog(elf).Functions, f => f.Section.Index == text.Index);
        var result = RewriteAndReadBack(elf);
        Assert.NotEmpty(result.Blob.Functions); // .init.text and .exit.text are still copied
    }

    /// <summary>.orc_unwind turned SHT_NOBITS: sh_size entries, none of them in the file.</summary>
    [Fact]
    public void An_orc_table_without_its_bytes_in_the_file_gives_no_unwind_states()
    {
        var elf = Damaged((b, e) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)HeaderOffset(b, e.FindSection(".orc_unwind")!) + ShType), ElfConstants.ShtNobits));
        Assert.False(new OrcStates(elf).HasData);
        RewriteAndReadBack(elf);
    }

    /// <summary>A code relocation against symbol 0 (the null symbol), which has no value the loader could use.</summary>
    [Fact]
    public void A_function_with_a_code_relocation_against_the_null_symbol_is_left_out()
    {
        long offset = -1;
        var elf = Damaged((b, e) =>
        {
            var text = e.FindSection(".text")!;
            var catalog = new FunctionCatalog(e);
            var relocations = e.GetRelocations(text);
            // A plain call of a kernel function (dummy.ko: netif_carrier_on), not a patch site such as the calls of
            // __fentry__ or the __x86_return_thunk / __x86_indirect_thunk_* jumps, which are planned as sites.
            int k = Enumerable.Range(0, relocations.Count).First(i => relocations[i].Type is RelocationType.Plt32
                && e.Symbol(relocations[i].SymbolIndex) is { IsUndefined: true } callee && !callee.Name.StartsWith("__", StringComparison.Ordinal)
                && catalog.Find(text.Index, (long)relocations[i].Offset) is not null);
            offset = (long)relocations[k].Offset;
            var rela = e.Sections.Single(s => s.Type == ElfConstants.ShtRela && s.Info == text.Index);
            Assert.Equal((ulong)offset, BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan((int)rela.FileOffset + k * 24))); // entry k in the file
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan((int)rela.FileOffset + k * 24 + RInfoSymbol), 0);
        });
        var text = elf.FindSection(".text")!;
        var function = new FunctionCatalog(elf).Find(text.Index, offset)!;
        var result = RewriteAndReadBack(elf);
        var leftOut = Assert.Single(result.Report.LeftOut, l => l.Name == function.Name);
        Assert.Contains("refers to the null symbol", leftOut.Reason);
    }
}
