using System.Text.Json.Serialization;
using Kedr.Rewriter;

namespace Kedr.Cli.Commands;

/// <summary>
/// The <c>--json</c> documents of <c>kedr instrument</c>, serialized by generated code (no reflection, so the
/// NativeAOT build writes them too): indented, enums by name.
/// </summary>
[JsonSourceGenerationOptions(WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(RewriteReport))]
[JsonSerializable(typeof(BatchJsonReport))]
[JsonSerializable(typeof(BatchJsonFailure))]
internal sealed partial class CliJsonContext : JsonSerializerContext;

/// <summary><c>instrument --all --json</c>: the totals, then per module its report or a <see cref="BatchJsonFailure"/>.</summary>
internal sealed record BatchJsonReport(
    [property: JsonPropertyName("summary")] BatchSummary Summary,
    [property: JsonPropertyName("modules")] IReadOnlyList<object> Modules);

/// <summary>A module of a batch that failed: its path and the diagnostic.</summary>
internal sealed record BatchJsonFailure(string Path, string? Error);
