using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Kedr.Rewriter.Tests.Conformance;

/// <summary>
/// The loader's own blob parser, <c>kmod/kedr_sample/kedr_blob.c</c>, built for user space: the host's
/// <c>cc</c> compiles <c>Conformance/userspace/harness.c</c>, which includes kedr_blob.c and the length decoder
/// it checks landing pads with (kedr_insn.c), in a temporary directory where every <c>&lt;linux/…&gt;</c> and
/// <c>&lt;asm/…&gt;</c> header they and kedr_sample.h include is <c>kedr_user.h</c> (malloc, a bitwise CRC-32C,
/// qsort_r for sort_r, pr_err into a buffer). The source is the
/// repository's, as the kernel module builds it.
/// </summary>
public sealed partial class UserspaceBlobParser : IDisposable
{
    private readonly string _dir;
    private readonly Process _process;

    /// <summary>The parser's verdict on one blob: null if it accepted it, else the line the loader would log.</summary>
    public string? Parse(string target, string path)
    {
        _process.StandardInput.WriteLine($"{target} {path}");
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"the user-space parser died on {path}: {_process.StandardError.ReadToEnd()}");
        if (line == $"ok {path}") return null;
        if (line.StartsWith($"bad {path}: ", StringComparison.Ordinal)) return line[$"bad {path}: ".Length..];
        throw new InvalidOperationException($"unexpected line from the user-space parser: {line}");
    }

    /// <summary>kedr_insn_len() at every offset of <paramref name="path"/>, the rest of the file readable (-EINVAL is -22).</summary>
    public int[] InstructionLengths(string path)
    {
        _process.StandardInput.WriteLine($"-insn {path}");
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine()
            ?? throw new InvalidOperationException($"the user-space parser died on {path}: {_process.StandardError.ReadToEnd()}");
        if (line.Length == 0) return [];
        return line.Split(' ').Select(x => int.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    public UserspaceBlobParser()
    {
        var root = Validation.KernelCorpus.RepoRoot();
        var kmod = Path.Combine(root, "kmod");
        var sample = Path.Combine(kmod, "kedr_sample");
        var shim = Path.Combine(root, "tests", "Kedr.Rewriter.Tests", "Conformance", "userspace");
        _dir = Directory.CreateTempSubdirectory("kedr-blob-parser-").FullName;
        var include = Path.Combine(_dir, "include");
        foreach (var source in new[] { "kedr_blob.c", "kedr_insn.c", "kedr_sample.h" }.Select(f => Path.Combine(sample, f)))
            foreach (Match m in KernelInclude().Matches(File.ReadAllText(source)))
            {
                var header = Path.Combine(include, m.Groups[1].Value);
                Directory.CreateDirectory(Path.GetDirectoryName(header)!);
                File.WriteAllText(header, "#include \"kedr_user.h\"\n");
            }
        var exe = Path.Combine(_dir, "parse");
        var cc = Process.Start(new ProcessStartInfo("cc",
            ["-std=gnu11", "-O2", "-Wall", "-Werror", "-Wno-maybe-uninitialized", "-I", shim, "-I", include, "-I", kmod, "-I", sample,
             "-o", exe, Path.Combine(shim, "harness.c")])
            { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var err = cc.StandardError.ReadToEnd() + cc.StandardOutput.ReadToEnd();
        cc.WaitForExit();
        if (cc.ExitCode != 0)
            throw new InvalidOperationException($"cc could not build kedr_blob.c for user space (exit {cc.ExitCode}):\n{err}");
        _process = Process.Start(new ProcessStartInfo(exe)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000)) _process.Kill();
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(_dir, recursive: true);
        }
    }

    [GeneratedRegex(@"^#include <((?:linux|asm)/[a-z0-9_-]+\.h)>", RegexOptions.Multiline)]
    private static partial Regex KernelInclude();
}
