using Kedr.Core.Elf;
using Kedr.Rewriter.Catalog;
using Kedr.Rewriter.Tests.Validation;

namespace Kedr.Rewriter.Tests.Catalog;

public sealed class FunctionCatalogTests
{
    /// <summary>
    /// Several names for one function (the compiler folds identical functions): the developer's is kept
    /// (module_init/module_exit aliases lose, a global beats a local), and among names of equal standing the
    /// first in the symbol table, so the choice follows a rule rather than the sort's order.
    /// </summary>
    [Theory]
    [InlineData("net/netfilter/ipset/ip_set_hash_ipportnet.ko")]
    [InlineData("fs/btrfs/btrfs.ko")]
    [InlineData("drivers/md/bcache/bcache.ko")]
    public void Of_names_of_equal_standing_the_first_in_the_symbol_table_is_kept(string module)
    {
        var elf = ElfFile.Read(KernelCorpus.Module(module));
        var catalog = new FunctionCatalog(elf);
        int ties = 0;
        foreach (var (symbol, reason) in catalog.Skipped.Where(s => s.Reason.StartsWith("alias of ", StringComparison.Ordinal)))
        {
            var kept = catalog.Find(symbol.SectionIndex, (long)symbol.Value)!;
            Assert.Equal(kept.Name, reason["alias of ".Length..]);
            bool Alias(string n) => n is "init_module" or "cleanup_module";
            if (Alias(kept.Name) != Alias(symbol.Name) || (kept.Symbol.Bind == ElfConstants.StbLocal) != (symbol.Bind == ElfConstants.StbLocal))
            {
                Assert.False(Alias(kept.Name), $"{kept.Name} kept over {symbol.Name}");
                continue;
            }
            ties++;
            Assert.True(kept.Symbol.Index < symbol.Index, $"{kept.Name} (symbol {kept.Symbol.Index}) kept over {symbol.Name} (symbol {symbol.Index})");
        }
        Assert.True(ties > 0, "no names of equal standing in " + module);
    }
}
