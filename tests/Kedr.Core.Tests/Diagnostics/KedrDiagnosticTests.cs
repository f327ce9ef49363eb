using Kedr.Core.Diagnostics;

namespace Kedr.Core.Tests.Diagnostics;

public sealed class KedrDiagnosticTests
{
    [Theory]
    [InlineData(null, null, null, "KEDR1002: msg")]
    [InlineData("a.ko", null, null, "a.ko: KEDR1002: msg")]
    [InlineData("a.ko", null, 16L, "a.ko: offset 0x10: KEDR1002: msg")]
    [InlineData("a.ko", ".symtab", null, "a.ko: .symtab: KEDR1002: msg")]
    [InlineData("a.ko", ".symtab", 48L, "a.ko: .symtab+0x30: KEDR1002: msg")]
    public void One_line_like_a_compiler(string? file, string? section, long? offset, string expected) =>
        Assert.Equal(expected, new KedrDiagnostic("KEDR1002", "msg", file, section, offset).ToString());

    [Fact]
    public void Control_characters_from_damaged_names_do_not_break_the_line()
    {
        var d = new KedrDiagnostic("KEDR3007", "function 0 'crc7\nbe\u001b[2J': size 3", "/x/b\r.kedr", "Func\ttions", 8);
        Assert.Equal(@"/x/b\x0d.kedr: Func\x09tions+0x8: KEDR3007: function 0 'crc7\x0abe\x1b[2J': size 3", d.ToString());
        Assert.Equal(d.ToString(), new KedrException(d).Message);
    }
}
