using System.Text;
using Kedr.Core.Elf;

namespace Kedr.Core.Tests.Elf;

/// <summary>
/// <see cref="ElfStrings.Decode"/> takes a short path for ASCII names; every name must still decode as UTF-8
/// decodes it (the strings the reader gave before), ASCII or not, valid UTF-8 or not.
/// </summary>
public sealed class ElfStringsTests
{
    public static TheoryData<byte[]> Names => new()
    {
        Array.Empty<byte>(),
        "init_module"u8.ToArray(),
        "__SCT__might_resched.cold.12"u8.ToArray(),
        "a_name_longer_than_one_vector_of_thirty_two_bytes_and_then_some"u8.ToArray(),
        "caf\u00e9_\u00fcber_\u4e2d"u8.ToArray(),                          // valid UTF-8, not ASCII
        new byte[] { (byte)'x', 0x80, (byte)'y' },                         // a lone continuation byte
        new byte[] { 0xc3 },                                                 // a sequence cut short
        new byte[] { 0xff, 0xfe, (byte)'z' },                                // bytes UTF-8 never has
        Enumerable.Range(1, 127).Select(b => (byte)b).ToArray(),             // every ASCII byte but NUL
        Enumerable.Range(1, 255).Select(b => (byte)b).ToArray(),             // every byte but NUL
    };

    [Theory, MemberData(nameof(Names))]
    public void A_name_decodes_as_UTF8_decodes_it(byte[] name)
    {
        Assert.Equal(Encoding.UTF8.GetString(name), ElfStrings.Decode(name));
        // And from a table, after a NUL and before one.
        byte[] table = [0, .. name, 0, (byte)'q', 0];
        Assert.True(ElfStrings.TryGet(table, 1, out var fromTable));
        Assert.Equal(Encoding.UTF8.GetString(name), fromTable);
    }
}
