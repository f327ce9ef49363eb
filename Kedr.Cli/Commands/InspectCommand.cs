using System.CommandLine;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr inspect BLOB</c>: print a blob readably.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var blobArg = new Argument<string>("blob") { Description = "A blob written by kedr instrument." };
        var fixups = new Option<bool>("--fixups") { Description = "List every fixup." };
        var sites = new Option<bool>("--sites") { Description = "List every event site." };
        var cmd = new Command("inspect", "Print a blob: target, functions, sizes, fixups, event sites.") { blobArg, fixups, sites };
        cmd.SetAction(r =>
        {
            if (!CliInput.TryInputFile(r.GetValue(blobArg), "blob", mustExist: false, out var path, out var error))
                return Program.Error(error!);
            KedrBlob blob;
            try { blob = BlobReader.Read(path); }
            catch (KedrException e)
            {
                return Program.Error(e.Diagnostic);
            }
            Console.Write(BlobText.Render(blob, r.GetValue(fixups), r.GetValue(sites)));
            return 0;
        });
        return cmd;
    }
}
