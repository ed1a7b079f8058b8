using System.Text.Json;
using System.Text.Json.Serialization;

namespace Isola.Host.Functions;

/// <summary>The one JSON shape of <see cref="FunctionSettings"/> in the database and on the wire.</summary>
internal static class SettingsJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    public static string Serialize(FunctionSettings settings) => JsonSerializer.Serialize(settings, Options);

    public static FunctionSettings Deserialize(string json) =>
        JsonSerializer.Deserialize<FunctionSettings>(json, Options) ?? throw new JsonException("settings row is null");
}
