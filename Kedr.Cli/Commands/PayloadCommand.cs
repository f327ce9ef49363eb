using System.CommandLine;
using Kedr.Core.Diagnostics;
using Kedr.Kernel.Payloads;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr payload generate SPEC -o DIR</c>: a payload module's source from a spec (docs/payloads.md).</summary>
internal static class PayloadCommand
{
    public static Command Create()
    {
        var spec = new Argument<string>("spec") { Description = "The payload spec (JSON; docs/payloads.md)." };
        var output = new Option<string>("--output", "-o")
        { Description = "The folder to write the module's source into (created if needed).", Required = true };
        var generate = new Command("generate",
            "Write a payload module's C source, trace events and Kbuild file from a spec; build it with make against the target's kernel.")
            { spec, output };
        generate.SetAction(r =>
        {
            if (!CliInput.TryInputFile(r.GetValue(spec), "spec", mustExist: true, out var specPath, out var error)
                || !CliInput.TryFolder(r.GetValue(output), "--output", create: true, out var outDir, out error))
                return Program.Error(error!);
            if (!PayloadSpecReader.TryRead(specPath, out var parsed, out error))
                return Program.Error(error!);
            IReadOnlyList<string> written;
            try { written = PayloadGenerator.Write(parsed!, outDir); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Program.Error(new KedrDiagnostic(DiagnosticCodes.PayloadCannotWrite, $"cannot write the payload: {e.Message}", outDir));
            }
            Console.WriteLine($"{parsed!.Name}: {parsed.Functions.Count} functions, {written.Count} files in {outDir}");
            return 0;
        });
        return new Command("payload", "Payload modules: code run on the target's calls to kernel functions.") { generate };
    }
}
