using Kedr.Core.Elf;

namespace Kedr.Output.Tests.Support;

/// <summary>
/// A small relocatable object assembled with <c>cc -c</c> from the text below, with functions of known
/// sizes in the sections a module has. Where the kernel puts them is worked out here by hand:
/// <code>
/// core:  .text (align 16) at 0x00: demo_open 0x30 bytes at 0x00, demo_helper (local) 0x21 bytes at 0x30
///        .text.unlikely (align 8) at 0x58 (0x51 rounded up): demo_open.cold 0x10 bytes
///        .exit.text (align 1) at 0x68: demo_exit 0x0b bytes, alias cleanup_module
/// init:  .init.text at 0x00: demo_init 0x20 bytes (alias init_module), demo_init_tail 0x18 bytes at 0x20
/// </code>
/// </summary>
internal static class SampleModule
{
    public const ulong Open = 0x00, Helper = 0x30, OpenCold = 0x58, Exit = 0x68;
    public const ulong Init = 0x00, InitTail = 0x20;

    private const string Source = """
            .section .text,"ax",@progbits
            .p2align 4
            .globl demo_open
            .type demo_open,@function
        demo_open:
            .skip 0x30, 0x90
            .size demo_open, 0x30
            .type demo_helper,@function
        demo_helper:
            .skip 0x21, 0x90
            .size demo_helper, 0x21

            .section .text.unlikely,"ax",@progbits
            .p2align 3
            .type demo_open.cold,@function
        demo_open.cold:
            .skip 0x10, 0x90
            .size demo_open.cold, 0x10

            .section .exit.text,"ax",@progbits
            .globl cleanup_module
            .type cleanup_module,@function
            .type demo_exit,@function
        cleanup_module:
        demo_exit:
            .skip 0x0b, 0x90
            .size demo_exit, 0x0b
            .size cleanup_module, 0x0b

            .section .init.text,"ax",@progbits
            .globl init_module
            .type init_module,@function
            .type demo_init,@function
        init_module:
        demo_init:
            .skip 0x20, 0x90
            .size demo_init, 0x20
            .size init_module, 0x20
            .type demo_init_tail,@function
        demo_init_tail:
            .skip 0x18, 0x90
            .size demo_init_tail, 0x18

            .data
        demo_counter:
            .long 0
        """;

    private static readonly Lazy<string> s_path = new(() =>
    {
        var dir = Directory.CreateTempSubdirectory("kedr-output-module-").FullName;
        var src = Path.Combine(dir, "demo_mod.s");
        var obj = Path.Combine(dir, "demo_mod.ko");
        File.WriteAllText(src, Source);
        Tools.Check("cc", "to assemble the test module", "-c", "-o", obj, src);
        return obj;
    });

    public static string FilePath => s_path.Value;
    public static ElfFile Elf => ElfFile.Read(s_path.Value);
}
