using System.ComponentModel;
using System.Diagnostics;

namespace Kedr.Tests.Shared;

/// <summary>
/// A small relocatable object with DWARF, built like a .ko from the C text below (<c>cc -g -O2 -c</c>,
/// then <c>ld -r --build-id</c> for the build-id note a module has): code in <c>.text</c>,
/// <c>.text.unlikely</c> (a cold function) and <c>.init.text</c>, and one inlined call. The lines the
/// tests look for carry a <c>MARK:name</c> comment; <see cref="Line"/> finds them in the text, so the
/// expected lines come from the source, not from the reader under test. <see cref="Split"/> makes a
/// stripped copy and its separate debug file (<c>objcopy --only-keep-debug</c> / <c>--strip-debug</c>),
/// as a distribution ships modules.
/// </summary>
internal static class DebugModule
{
    public const string FileName = "src_mod.c";

    public const string Source = """
        /* Source-line test object. The lines looked for carry a MARK comment. */
        volatile int counter;
        int table[16];

        static inline __attribute__((always_inline)) void bump(int i)
        {
        	table[i & 15] += i; /* MARK:bump */
        }

        __attribute__((noinline)) int src_open(int n)
        {
        	counter = n; /* MARK:open_store */
        	bump(n); /* MARK:open_call_bump */
        	return counter; /* MARK:open_load */
        }

        __attribute__((cold, noinline)) void src_cold(int n)
        {
        	counter = n * 3; /* MARK:cold_store */
        }

        __attribute__((section(".init.text"), noinline)) int src_init(void)
        {
        	counter = 7; /* MARK:init_store */
        	return 0;
        }

        """;

    /// <summary>The 1-based line of the <c>MARK:<paramref name="mark"/></c> comment.</summary>
    public static uint Line(string mark)
    {
        var lines = Source.Split('\n');
        for (int i = 0; i < lines.Length; i++)
            if (lines[i].Contains($"/* MARK:{mark} */", StringComparison.Ordinal)) return (uint)(i + 1);
        throw new ArgumentException($"no MARK:{mark} in the source", nameof(mark));
    }

    /// <summary>Compiles the module into <paramref name="dir"/> as <c>src_mod.ko</c> (with DWARF and a build-id);
    /// <paramref name="dwarfVersion"/> 5 is gcc 12's default, 4 what older compilers and debug files have.</summary>
    public static string Build(string dir, int dwarfVersion = 5)
    {
        var src = Path.Combine(dir, FileName);
        File.WriteAllText(src, Source);
        var obj = Path.Combine(dir, "src_mod.o");
        var ko = Path.Combine(dir, "src_mod.ko");
        Run(dir, "cc", "-g", $"-gdwarf-{dwarfVersion}", "-O2", "-fno-pie", "-fno-asynchronous-unwind-tables", "-c", "-o", obj, src);
        Run(dir, "ld", "-r", "--build-id=sha1", "-o", ko, obj);
        return ko;
    }

    /// <summary>A stripped copy of <paramref name="ko"/> (<c>stripped/src_mod.ko</c>) and its debug file (<c>src_mod.debug</c>).</summary>
    public static (string Stripped, string DebugFile) Split(string ko)
    {
        var dir = Path.GetDirectoryName(ko)!;
        Directory.CreateDirectory(Path.Combine(dir, "stripped"));
        var stripped = Path.Combine(dir, "stripped", "src_mod.ko");
        var debug = Path.Combine(dir, "src_mod.debug");
        Run(dir, "objcopy", "--only-keep-debug", ko, debug);
        Run(dir, "objcopy", "--strip-debug", ko, stripped);
        return (stripped, debug);
    }

    /// <summary>The build-id of <paramref name="elfPath"/> as <c>readelf -n</c> prints it.</summary>
    public static string BuildId(string elfPath)
    {
        foreach (var l in Run(".", "readelf", "-n", elfPath).Split('\n'))
            if (l.Trim().StartsWith("Build ID:", StringComparison.Ordinal)) return l.Trim()["Build ID:".Length..].Trim();
        throw new InvalidOperationException($"readelf -n {elfPath}: no build-id");
    }

    /// <summary>Runs a host tool (binutils, gcc); a failure fails the test with its stderr.</summary>
    public static string Run(string dir, string tool, params string[] args)
    {
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        Process p;
        try { p = Process.Start(psi)!; }
        catch (Win32Exception e) { throw new InvalidOperationException($"'{tool}' is needed to build the source-line test object: {e.Message}"); }
        using (p)
        {
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)}: exit {p.ExitCode}: {err.Result}");
            return output;
        }
    }
}
