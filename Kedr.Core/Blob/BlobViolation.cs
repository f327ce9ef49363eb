using Kedr.Core.Diagnostics;

namespace Kedr.Core.Blob;

/// <summary>
/// A rule of the loader a blob breaks: the catalog code, the message, and the field it is about — in record
/// <see cref="Index"/> of table <see cref="Table"/>, at <see cref="Field"/> of that record (no table: a header
/// field, <see cref="Field"/> its offset in the blob). A class: the rules return null for every valid record of
/// a blob being written, which costs nothing as a reference (a nullable struct this size is copied out each time).
/// </summary>
public sealed record BlobViolation(DiagnosticCode Code, string Message, BlobTableId? Table, long Index, int Field)
{
    public static BlobViolation InHeader(DiagnosticCode code, string message, int field) => new(code, message, null, 0, field);

    /// <summary>As a diagnostic naming the offset in the blob, with the tables at <paramref name="tables"/> (offset, count, entry size by <see cref="BlobTableId"/>).</summary>
    public KedrDiagnostic ToDiagnostic(string path, ReadOnlySpan<(int Offset, int Count, int EntrySize)> tables) =>
        Table is { } t
            ? new KedrDiagnostic(Code, Message, path, t.ToString(), tables[(int)t].Offset + Index * tables[(int)t].EntrySize + Field)
            : new KedrDiagnostic(Code, Message, path, null, Field);
}
