using Kedr.Core.Blob;

namespace Kedr.Rewriter;

/// <summary>The blob for a module and the report of how it was built.</summary>
public sealed record RewriteResult(KedrBlob Blob, RewriteReport Report);
