using System.CommandLine;
using Kedr.Core.Blob;
using Kedr.Core.Diagnostics;

namespace Kedr.Cli.Commands;

/// <summary><c>kedr inspect BLOB</c>: print a blob readably.</summary>
internal static class InspectCommand
{
    public static Command Create()
    {
        var blobArg = new Argument<FileInfo>("blob") { Description = "A blob written by kedr instrument." };
        var fixups = new Option<bool>("--fixups") { Description = "List every fixup." };
        var sites = new Option<bool>("--sites") { Description = "List every event site." };
        var cmd = new Command("inspect", "Print a blob: target, functions, sizes, fixups, event sites.") { blobArg, fixups, sites };
        cmd.SetAction(r =>
        {
            KedrBlob blob;
            try { blob = BlobReader.Read(r.GetValue(blobArg)!.FullName); }
            catch (KedrException e)
            {
                Console.Error.WriteLine($"kedr: error: {e.Diagnostic}");
                return 2;
            }
            Console.Write(BlobText.Render(blob, r.GetValue(fixups), r.GetValue(sites)));
            return 0;
        });
        return cmd;
    }
}
