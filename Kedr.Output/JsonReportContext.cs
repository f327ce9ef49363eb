using System.Text.Json.Serialization;

namespace Kedr.Output;

/// <summary>Serialization of <see cref="JsonReport"/> and <see cref="Races.JsonRaces"/> by generated code (no reflection: the NativeAOT build writes it too).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(JsonReport))]
[JsonSerializable(typeof(Races.JsonRaces))]
public sealed partial class JsonReportContext : JsonSerializerContext;
