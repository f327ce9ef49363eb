using System.Buffers.Binary;
using Kedr.Core.Elf;
using Kedr.Output.Tests.Support;

namespace Kedr.Output.Tests;

public sealed class ModuleFunctionsTests
{
    /// <summary>
    /// A damaged st_value so large that st_value + st_size wraps around to an offset inside the section:
    /// the function is not in its section and must not be one of the module's functions (the report would
    /// place it at an address far outside the module).
    /// </summary>
    [Fact]
    public void A_function_whose_st_value_plus_st_size_wraps_around_is_left_out()
    {
        var bytes = File.ReadAllBytes(SampleModule.FilePath);
        var elf = SampleModule.Elf;
        var helper = elf.Symbols.Single(s => s.Name == "demo_helper");
        // Elf64_Sym.st_value at +8; 2^64 - 8 + 0x21 wraps to 0x19, inside .text (0x51 bytes).
        long at = (long)elf.FindSection(".symtab")!.FileOffset + helper.Index * 24L + 8;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((int)at), ulong.MaxValue - 7);
        Assert.True(ElfFile.TryRead(bytes, "damaged.ko", out var damaged, out var error), error?.ToString());

        var functions = new ModuleFunctions(damaged!);
        Assert.DoesNotContain(functions.All, f => f.Name == "demo_helper");
        Assert.Contains(functions.All, f => f.Name == "demo_open");
    }
}
