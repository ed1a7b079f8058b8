using System.Text.Json;
using System.Text.RegularExpressions;
using Isola.Host.Errors;

namespace Isola.Host.Validation;

/// <summary>
/// Reading request bodies field by field: each helper returns the value or throws a 400 naming the field and
/// what it got instead (<c>timeoutMs must be an integer from 1 to 300000, not the string "5"</c>). Shared by the
/// deploy parser and the endpoints that read JSON, so the messages read the same everywhere.
/// </summary>
internal static partial class JsonFields
{
    public static List<string> RequireStringList(JsonElement value, string field)
    {
        var items = RequireArray(value, field);
        var list = new List<string>();
        for (var i = 0; i < items.Count; i++)
        {
            list.Add(RequireString(items[i], $"{field}[{i}]"));
        }

        return list;
    }

    public static string RequireString(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw IsolaException.InvalidField(field, $"must be a string, not {Describe(value)}");

    public static string? OptionalString(JsonElement value, string field, int maxLength)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = RequireString(value, field);
        return text.Length <= maxLength ? text : throw IsolaException.InvalidField(field, $"is {text.Length} characters; the limit is {maxLength}");
    }

    public static bool RequireBool(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw IsolaException.InvalidField(field, $"must be true or false, not {Describe(value)}"),
    };

    public static int RequireInt(JsonElement value, string field, int min, int max)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            throw IsolaException.InvalidField(field, $"must be an integer from {min} to {max}, not {Describe(value)}");
        }

        return number >= min && number <= max
            ? (int)number
            : throw IsolaException.InvalidField(field, $"must be from {min} to {max} (got {number})");
    }

    public static List<JsonElement> RequireArray(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray()] : throw IsolaException.InvalidField(field, $"must be an array, not {Describe(value)}");

    public static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(value.GetString()!)}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => value.ValueKind.ToString(),
    };

    public static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>Whether <paramref name="value"/> may name an event (or a websocket event): what an event trigger's eventName accepts.</summary>
    public static bool IsValidToken(string value) => value.Length is > 0 and <= 200 && TokenPattern().IsMatch(value);

    public static void RequireToken(string value, string field)
    {
        if (!IsValidToken(value))
        {
            throw IsolaException.InvalidField(field, $"must be 1-200 characters of letters, digits and . _ - : / (got '{Truncate(value)}')");
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9._:/-]+$")]
    private static partial Regex TokenPattern();
}
