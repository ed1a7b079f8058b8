using System.Globalization;
using System.Text.Json.Nodes;
using Tomlyn.Model;

namespace Isola.Cli.Project;

/// <summary>TOML values as the deploy API's JSON (triggers and bindings are written in TOML as they are in JSON).</summary>
internal static class TomlJson
{
    public static JsonNode? From(object? value) => value switch
    {
        null => null,
        TomlTable table => new JsonObject(table.Select(pair => KeyValuePair.Create(pair.Key, From(pair.Value)))),
        TomlTableArray tables => new JsonArray([.. tables.Select(From)]),
        TomlArray array => new JsonArray([.. array.Select(From)]),
        string text => JsonValue.Create(text),
        bool flag => JsonValue.Create(flag),
        long number => JsonValue.Create(number),
        int number => JsonValue.Create(number),
        double number => JsonValue.Create(number),
        _ => JsonValue.Create(Convert.ToString(value, CultureInfo.InvariantCulture)),
    };
}
