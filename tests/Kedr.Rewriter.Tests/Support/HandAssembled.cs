using System.Diagnostics;
using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Layout;
using Kedr.Rewriter.Planning;

namespace Kedr.Rewriter.Tests.Support;

/// <summary>
/// A small module written in assembly for a test (GNU as, which builds the kernel modules too): the
/// expectations of such a test are read off its source and the ELF, not off the rewriter's output.
/// </summary>
internal sealed class HandAssembled
{
    private HandAssembled(ElfFile elf) => Elf = elf;

    public ElfFile Elf { get; }

    /// <summary>Assembles <paramref name="source"/> (AT&amp;T syntax) into a relocatable object.</summary>
    public static HandAssembled From(string source)
    {
        var dir = Directory.CreateTempSubdirectory("kedr-asm-");
        try
        {
            string s = Path.Combine(dir.FullName, "hand.s"), o = Path.Combine(dir.FullName, "hand.ko");
            File.WriteAllText(s, source + "\n");
            var psi = new ProcessStartInfo("as", ["--64", "-o", o, s]) { RedirectStandardError = true };
            using var p = Process.Start(psi)!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, "as: " + err);
            return new HandAssembled(ElfFile.Read(o));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The catalog stage's view.</summary>
    public ModuleCatalog Catalog()
    {
        Assert.True(ModuleCatalog.TryRead(Elf, out var catalog, out var error), error?.ToString());
        return catalog!;
    }

    /// <summary>The plans stage's output.</summary>
    public ModulePlans Plans() => ModulePlanner.Plan(Catalog());

    /// <summary>The layout stage's output.</summary>
    public ModuleLayout Layout()
    {
        var plans = Plans();
        return CopyLayout.Place(plans, ImportStubs.Collect(plans));
    }

    /// <summary>The catalog id of function <paramref name="name"/>.</summary>
    public static int Id(ModulePlans plans, string name)
    {
        foreach (var plan in plans.All)
            if (plan.Function.Name == name) return plan.Function.Id;
        throw new InvalidOperationException("no function " + name);
    }

    /// <summary>A function's instructions in its plan, with their offsets from its start.</summary>
    public static PlannedInstruction At(ModulePlans plans, string name, int offset)
    {
        var plan = plans[Id(plans, name)];
        int i = plan.IndexOf(plan.Function.Start + offset);
        Assert.True(i >= 0, $"no instruction of {name} at +0x{offset:x}");
        return plan.Instructions[i];
    }

    /// <summary>Declares <paramref name="name"/> a function of the lines that follow up to the next <c>.size</c>.</summary>
    public static string Function(string name, string body) =>
        $"\t.globl {name}\n\t.type {name}, @function\n{name}:\n{body}\n\t.size {name}, .-{name}\n";
}
