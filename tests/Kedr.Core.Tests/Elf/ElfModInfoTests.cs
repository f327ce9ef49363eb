using System.Text;
using Kedr.Core.Elf;
using Kedr.Core.Tests.Support;

namespace Kedr.Core.Tests.Elf;

/// <summary>
/// <see cref="ElfModInfo.First"/> finds a value in the section's bytes without decoding the table; it must
/// give what the decoded table (<see cref="ElfModInfo.All"/>, compared with readelf elsewhere) gives first.
/// </summary>
public sealed class ElfModInfoTests
{
    [Fact]
    public void Every_key_of_every_module_gives_its_first_value()
    {
        int keys = 0;
        foreach (var path in Directory.EnumerateFiles(TestEnvironment.ModulesDir, "*.ko", SearchOption.AllDirectories))
        {
            var elf = ElfFile.Read(path);
            foreach (var (key, values) in elf.ModInfoEntries)
            {
                Assert.True(values[0] == elf.ModInfo(key), $"{path}: {key}");
                keys++;
            }
            Assert.Null(elf.ModInfo("no_such_key"));
        }
        Assert.True(keys > 5_000, $"only {keys} keys");
    }

    [Fact]
    public void Repeated_keys_entries_without_a_value_and_keys_that_are_not_ASCII()
    {
        byte[] bytes = [.. "\0a=1\0\0b\0a=2\0name=x=y\0"u8, .. "caf\u00e9=v\0"u8, 0xff, .. "=z\0na=w\0"u8];
        var info = new ElfModInfo(bytes);
        Assert.Equal("1", info.First("a"));
        Assert.Equal("", info.First("b"));
        Assert.Equal("x=y", info.First("name"));
        Assert.Equal("v", info.First("caf\u00e9"));
        Assert.Equal("z", info.First("\uFFFD"));        // a byte UTF-8 never has decodes to U+FFFD
        Assert.Equal("w", info.First("na"));             // not a prefix of "name"
        Assert.Null(info.First("c"));
        Assert.Null(info.First("nam"));
        Assert.Equal(["1", "2"], info.All["a"]);
        foreach (var (key, values) in info.All) Assert.Equal(values[0], info.First(key));
        Assert.Equal(Encoding.UTF8.GetString([0xff]), info.All.Keys.Single(k => k.Length == 1 && k[0] > 127));
    }
}
