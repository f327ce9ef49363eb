namespace Kedr.Cli.Tests;

/// <summary>
/// Every command given bad arguments, as a user types them: exit status 2, nothing on stdout, exactly one
/// line on stderr, starting <c>kedr: error:</c>, with the diagnostic code and naming the bad input. Each
/// row is checked before any work (no kmod build, no guest) so the table stays fast.
/// </summary>
public sealed class BadArgumentsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("kedr-bad-args-");

    public BadArgumentsTests()
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "script.sh"), "true\n");
        File.WriteAllText(Path.Combine(_dir.FullName, "file.txt"), "not a folder\n");
        File.WriteAllText(Path.Combine(_dir.FullName, "text.ko"), new string('x', 200));
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "folder"));
        Directory.CreateDirectory(Path.Combine(_dir.FullName, "empty"));
    }

    public void Dispose() => _dir.Delete(true);

    // {d}: the test's folder, holding script.sh, file.txt, text.ko (not ELF), folder/ and empty/ (no .ko in either).
    public static TheoryData<string, string, string> Rows() => new()
    {
        // the command itself
        { "", "KEDR6000", "Required command" },
        { "bogus", "KEDR6000", "'bogus'" },
        { "instrument|--frob", "KEDR6000", "'--frob'" },
        { "demo|extra", "KEDR6000", "'extra'" },
        // instrument
        { "instrument", "KEDR6008", "--all" },
        { "instrument|", "KEDR6001", "module is empty ('')" },
        { "instrument|{d}/folder", "KEDR6002", "{d}/folder" },
        { "instrument|{d}/absent.ko", "KEDR1000", "{d}/absent.ko" },
        { "instrument|{d}/text.ko", "KEDR1002", "{d}/text.ko" },
        { "instrument|{d}/text.ko|--all|{d}/folder", "KEDR6008", "{d}/folder" },
        { "instrument|{d}/text.ko|--out|{d}/o", "KEDR6008", "--out" },
        { "instrument|{d}/text.ko|-o|", "KEDR6001", "--output is empty" },
        { "instrument|{d}/text.ko|-o|{d}/folder", "KEDR6002", "--output '{d}/folder'" },
        { "instrument|{d}/text.ko|-o|{d}/none/x.kedr", "KEDR6004", "{d}/none/x.kedr" },
        { "instrument|{d}/text.ko|--json|{d}/folder", "KEDR6002", "--json '{d}/folder'" },
        { "instrument|{d}/text.ko|--install|--firmware-dir|{d}/file.txt", "KEDR6005", "--firmware-dir '{d}/file.txt'" },
        { "instrument|{d}/text.ko|--install|--firmware-dir|", "KEDR6001", "--firmware-dir is empty" },
        { "instrument|{d}/text.ko|--install|--firmware-dir|{d}/file.txt/fw", "KEDR6005", "{d}/file.txt is a file" },
        { "instrument|--all|{d}/folder|--out|{d}/file.txt/blobs", "KEDR6005", "{d}/file.txt is a file" },
        { "instrument|--all|", "KEDR6001", "--all is empty" },
        { "instrument|--all|{d}/absent", "KEDR6005", "--all '{d}/absent'" },
        { "instrument|--all|{d}/file.txt", "KEDR6005", "--all '{d}/file.txt'" },
        { "instrument|--all|{d}/empty", "KEDR6006", "{d}/empty" },
        { "instrument|--all|{d}/folder|--jobs|0", "KEDR6007", "--jobs 0" },
        { "instrument|--all|{d}/folder|--jobs|many", "KEDR6000", "'many'" },
        { "instrument|--all|{d}/folder|--out|{d}/file.txt", "KEDR6005", "--out '{d}/file.txt'" },
        { "instrument|--all|{d}/folder|-o|{d}/x.kedr", "KEDR6008", "--output" },
        { "instrument|--all|{d}/folder|--install", "KEDR6008", "--install" },
        { "instrument|--all|{d}/folder|--firmware-dir|{d}/folder", "KEDR6008", "--firmware-dir is for --install" },
        { "instrument|{d}/text.ko|--jobs|0", "KEDR6008", "--jobs is for --all" },
        { "instrument|{d}/text.ko|-j|4", "KEDR6008", "--jobs is for --all" },
        { "instrument|{d}/text.ko|--firmware-dir|{d}/folder", "KEDR6008", "--firmware-dir is for --install" },
        // inspect
        { "inspect", "KEDR6000", "blob" },
        { "inspect|", "KEDR6001", "blob is empty ('')" },
        { "inspect|{d}/folder", "KEDR6002", "{d}/folder" },
        { "inspect|{d}/absent.kedr", "KEDR3000", "{d}/absent.kedr" },
        { "inspect|{d}/file.txt", "KEDR3002", "{d}/file.txt" }, // magic first, as kedr_blob.c: a text file is not a blob
        // report
        { "report", "KEDR6000", "trace" },
        { "report|", "KEDR6001", "trace is empty ('')" },
        { "report|{d}/folder", "KEDR6002", "{d}/folder" },
        { "report|{d}/absent.bin", "KEDR5000", "{d}/absent.bin" },
        { "report|{d}/file.txt", "KEDR5001", "{d}/file.txt" },
        { "report|{d}/file.txt|--ko|", "KEDR6001", "--ko is empty" },
        { "report|{d}/file.txt|--ko|{d}/folder", "KEDR6002", "--ko '{d}/folder'" },
        { "report|{d}/file.txt|-o|{d}/folder", "KEDR6002", "--output '{d}/folder'" },
        { "report|{d}/file.txt|--format|pdf", "KEDR6000", "'pdf'" },
        { "report|{d}/file.txt|--format|csv|--summary", "KEDR6008", "--summary is for --format text, not csv" },
        // payload generate (file.txt is not JSON)
        { "payload", "KEDR6000", "Required command" },
        { "payload|generate|{d}/file.txt", "KEDR6000", "--output" },
        { "payload|generate|{d}/absent.json|-o|{d}/out", "KEDR6003", "spec '{d}/absent.json'" },
        { "payload|generate|{d}/folder|-o|{d}/out", "KEDR6002", "spec '{d}/folder'" },
        { "payload|generate|{d}/file.txt|-o|{d}/file.txt", "KEDR6005", "--output '{d}/file.txt'" },
        { "payload|generate|{d}/file.txt|-o|{d}/out", "KEDR7001", "{d}/file.txt: line 1" },
        // vm
        { "vm|--script|{d}/script.sh", "KEDR6000", "'--target'" },
        { "vm|--target|fat", "KEDR6000", "'--script'" },
        { "vm|--target||--script|{d}/script.sh", "KEDR6001", "--target is empty" },
        { "vm|--target|a b|--script|{d}/script.sh", "KEDR6011", "'a b'" },
        { "vm|--target|fat|--script|", "KEDR6001", "--script is empty" },
        { "vm|--target|fat|--script|{d}/absent.sh", "KEDR6003", "{d}/absent.sh" },
        { "vm|--target|fat|--script|{d}/folder", "KEDR6002", "{d}/folder" },
        { "vm|--target|fat|--script|{d}/script.sh|--ko|{d}/absent.ko", "KEDR6003", "{d}/absent.ko" },
        { "vm|--target|fat|--script|{d}/script.sh|--ko|{d}/text.ko", "KEDR1002", "{d}/text.ko" },
        { "vm|--target|fat|--script|{d}/script.sh|--smp|0", "KEDR6007", "--smp 0" },
        { "vm|--target|fat|--script|{d}/script.sh|--timeout|5", "KEDR6007", "--timeout 5" },
        { "vm|--target|fat|--script|{d}/script.sh|--timeout|soon", "KEDR6000", "'soon'" },
        { "vm|--target|fat|--script|{d}/script.sh|--out|{d}/file.txt", "KEDR6005", "--out '{d}/file.txt'" },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void Bad_arguments_give_one_error_line_naming_the_input_and_exit_2(string args, string code, string names)
    {
        string Fill(string s) => s.Replace("{d}", _dir.FullName, StringComparison.Ordinal);
        var argv = args.Length == 0 ? [] : args.Split('|').Select(Fill).ToArray();
        var r = KedrProcess.Run(_dir.FullName, argv);
        Assert.True(r.ExitCode == 2, r.ToString());
        Assert.True(r.Stdout.Length == 0, r.ToString());
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected exactly one line on stderr\n{r}");
        Assert.StartsWith("kedr: error: ", lines[0]);
        Assert.Contains($"{code}: ", lines[0]);
        Assert.Contains(Fill(names), lines[0]);
    }
}
