using System.Text;
using Kedr.Core.Blob;

namespace Kedr.Cli.Commands;

/// <summary>The text <c>kedr inspect</c> prints.</summary>
internal static class BlobText
{
    public static string Render(KedrBlob blob, bool listFixups, bool listSites)
    {
        var t = blob.Target;
        var w = new StringBuilder();
        w.AppendLine($"blob format {BlobFormat.VersionMajor}.{blob.VersionMinor}");
        w.AppendLine($"target      {t.Name}");
        w.AppendLine($"srcversion  {(t.SrcVersion.Length == 0 ? "(none)" : t.SrcVersion)}");
        w.AppendLine($"build-id    {(t.BuildId.Length == 0 ? "(none)" : Convert.ToHexStringLower(t.BuildId))}");
        w.AppendLine($"symbols     {t.SymbolCount}");
        w.AppendLine($"code        {blob.Code.Length} bytes, aligned to {blob.CodeAlign}");
        w.AppendLine($"functions   {blob.Functions.Count}");
        w.AppendLine($"fixups      {blob.Fixups.Count}");
        w.AppendLine($"event sites {blob.Sites.Count}");
        w.AppendLine($"patches     {blob.Patches.Count} ({blob.Patches.Count(p => p.Kind == BlobPatchKind.LiveBytes)} live bytes, " +
                     $"{blob.Patches.Count(p => p.Kind == BlobPatchKind.JumpLabel)} jump slots, {blob.Patches.Count(p => p.Kind == BlobPatchKind.Landing)} landing pads)");
        w.AppendLine($"exceptions  {blob.ExTable.Count}");
        w.AppendLine($"bug entries {blob.Bugs.Count}");
        w.AppendLine($"orc entries {blob.Orc.Count}");
        w.AppendLine($"imports     {blob.Imports.Count} kernel functions, {blob.Calls.Count} calls through their stubs");
        w.AppendLine();
        w.AppendLine("  #  copy     size  orig  masks digest           flags name");
        var fixupsPerFunction = new int[blob.Functions.Count];
        for (int i = 0; i < blob.Functions.Count; i++)
        {
            var f = blob.Functions[i];
            var flags = (f.Flags.HasFlag(BlobFunctionFlags.Init) ? "init " : "") + (f.Flags.HasFlag(BlobFunctionFlags.Part) ? $"part-of:{blob.Functions[(int)f.Owner].Name}" : "");
            w.AppendLine($"{i,3}  {f.CopyOffset,7:x} {f.CopySize,5} {f.Size,5} {f.MaskCount,5} {f.Digest:x16} {flags,-5} {f.Name}");
        }
        if (listFixups)
        {
            w.AppendLine();
            w.AppendLine("fixups:");
            foreach (var x in blob.Fixups)
                w.AppendLine($"  {x.Offset,8:x} {x.Type,-6} {x.Target,-6} {x.Index,6} {x.Addend:+#;-#;0}");
        }
        if (listSites)
        {
            w.AppendLine();
            w.AppendLine("event sites:");
            for (int i = 0; i < blob.Sites.Count; i++)
            {
                var s = blob.Sites[i];
                w.AppendLine($"  {i,6} {s.Kind,-12} {blob.Functions[(int)s.Function].Name}+0x{s.Offset:x} size {s.Size}");
            }
        }
        return w.ToString();
    }
}
