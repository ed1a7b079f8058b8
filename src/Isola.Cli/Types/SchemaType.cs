using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Isola.Cli.Types;

/// <summary>
/// The TypeScript type of a validator's JSON description (the <c>Schema</c> of runtime/functions/contract.ts, as GET
/// /v1/{app}/functions shows it under <c>typed.args</c> and <c>typed.returns</c>): the same type the validator gives
/// the handler, so a client's arguments are checked as the function's are. A kind this CLI does not know (a newer
/// node) is <c>unknown</c>, which accepts anything rather than refusing good code.
/// </summary>
internal static partial class SchemaType
{
    public static string Of(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out var kind) || kind.ValueKind != JsonValueKind.String)
        {
            return "unknown";
        }

        return kind.GetString() switch
        {
            "string" or "datetime" or "id" => "string",
            "int" or "float" => "number",
            "boolean" => "boolean",
            "any" => "unknown",
            "optional" when schema.TryGetProperty("of", out var inner) => Of(inner) + " | undefined",
            "array" when schema.TryGetProperty("of", out var item) => ArrayOf(item),
            "literal" when schema.TryGetProperty("values", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0 =>
                string.Join(" | ", values.EnumerateArray().Select(Literal)),
            "union" when schema.TryGetProperty("of", out var members) && members.ValueKind == JsonValueKind.Array && members.GetArrayLength() > 0 =>
                string.Join(" | ", members.EnumerateArray().Select(Of).Distinct()),
            "object" when schema.TryGetProperty("fields", out var fields) && fields.ValueKind == JsonValueKind.Object => ObjectOf(fields),
            _ => "unknown",
        };
    }

    /// <summary>The type of a typed function's argument object; <c>Record&lt;string, never&gt;</c> (only <c>{}</c>) when it takes none.</summary>
    public static string OfArgs(JsonElement? schema)
    {
        if (schema is not { ValueKind: JsonValueKind.Object } args)
        {
            return "Record<string, unknown>";
        }

        var type = Of(args);
        return type == "{}" ? "Record<string, never>" : type;
    }

    private static string ObjectOf(JsonElement fields)
    {
        var text = new StringBuilder();
        // Sorted: the node keeps the schema in jsonb, which does not keep the order the fields were declared in.
        foreach (var field in fields.EnumerateObject().OrderBy(field => field.Name, StringComparer.Ordinal))
        {
            // v.optional's key may be left out, as ObjectOf in runtime/functions/validators.ts types it.
            var optional = field.Value.ValueKind == JsonValueKind.Object && field.Value.TryGetProperty("type", out var kind) && kind.ValueEquals("optional");
            text.Append(text.Length == 0 ? "{ " : "; ").Append(PropertyName(field.Name)).Append(optional ? "?: " : ": ").Append(Of(field.Value));
        }

        return text.Length == 0 ? "{}" : text.Append(" }").ToString();
    }

    private static string ArrayOf(JsonElement item)
    {
        var type = Of(item);
        // `A | B[]` is A or an array of B: an item type with alternatives needs parentheses.
        var alternatives = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("type", out var kind)
            && (kind.ValueEquals("union") || kind.ValueEquals("optional") || kind.ValueEquals("literal"));
        return alternatives && type.Contains(" | ", StringComparison.Ordinal) ? $"({type})[]" : type + "[]";
    }

    private static string Literal(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => JsonSerializer.Serialize(value.GetString()),
        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null => value.GetRawText(),
        _ => "unknown",
    };

    /// <summary>A property name as written in a type: bare when it is an identifier, else quoted.</summary>
    public static string PropertyName(string name) => Identifier().IsMatch(name) ? name : JsonSerializer.Serialize(name);

    [GeneratedRegex("^[A-Za-z_$][A-Za-z0-9_$]*$")]
    private static partial Regex Identifier();
}
