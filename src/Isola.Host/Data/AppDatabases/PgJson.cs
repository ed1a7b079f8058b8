using System.Collections;
using System.Globalization;
using System.Net;
using System.Numerics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;
using Npgsql.PostgresTypes;
using NpgsqlTypes;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// PostgreSQL values as JSON, the mapping documented in docs/data.md: int8 and numeric as strings
/// (JavaScript numbers lose precision past 2^53), json/jsonb as values, timestamptz as ISO 8601 UTC,
/// bytea as base64, arrays as arrays, NULL as null, anything else as PostgreSQL's text.
/// </summary>
internal static class PgJson
{
    /// <summary>Reads column <paramref name="ordinal"/> of the current row; <paramref name="size"/> is its approximate cost in bytes.</summary>
    public static JsonNode? Read(NpgsqlDataReader reader, int ordinal, out long size)
    {
        if (reader.IsDBNull(ordinal))
        {
            size = 4;
            return null;
        }

        var type = reader.GetPostgresType(ordinal);
        var isJson = IsJson(type);
        object value;
        try
        {
            value = reader.GetValue(ordinal);
        }
        catch (Exception ex) when (ex is InvalidCastException or NotSupportedException && type is PostgresArrayType array)
        {
            // An array holding NULLs does not fit int[]; read it as int?[] and the like.
            value = ReadNullableArray(reader, ordinal, array.Element.InternalName) ?? throw Unreadable(type, ex);
        }
        catch (Exception ex) when (ex is InvalidCastException or NotSupportedException)
        {
            // A type Npgsql has no CLR mapping for (an extension's, say): its text form is still useful.
            try
            {
                value = reader.GetFieldValue<string>(ordinal);
            }
            catch (Exception inner) when (inner is InvalidCastException or NotSupportedException)
            {
                throw Unreadable(type, inner);
            }
        }

        size = 0;
        return Convert(value, isJson, ref size);
    }

    private static Array? ReadNullableArray(NpgsqlDataReader reader, int ordinal, string element) => element switch
    {
        "int2" => reader.GetFieldValue<short?[]>(ordinal),
        "int4" => reader.GetFieldValue<int?[]>(ordinal),
        "int8" => reader.GetFieldValue<long?[]>(ordinal),
        "float4" => reader.GetFieldValue<float?[]>(ordinal),
        "float8" => reader.GetFieldValue<double?[]>(ordinal),
        "numeric" => reader.GetFieldValue<decimal?[]>(ordinal),
        "bool" => reader.GetFieldValue<bool?[]>(ordinal),
        "uuid" => reader.GetFieldValue<Guid?[]>(ordinal),
        "date" => reader.GetFieldValue<DateOnly?[]>(ordinal),
        "timestamptz" or "timestamp" => reader.GetFieldValue<DateTime?[]>(ordinal),
        _ => null,
    };

    private static InvalidCastException Unreadable(PostgresType type, Exception inner) =>
        new($"a value of type {type.DisplayName} cannot be returned as JSON; cast it to text in the query (column::text)", inner);

    private static bool IsJson(PostgresType type) => type switch
    {
        PostgresArrayType array => IsJson(array.Element),
        _ => type.InternalName is "json" or "jsonb",
    };

    private static JsonNode? Convert(object? value, bool isJson, ref long size)
    {
        switch (value)
        {
            case null or DBNull:
                size += 4;
                return null;
            case string text when isJson:
                size += text.Length;
                return JsonNode.Parse(text);
            case string text:
                size += text.Length;
                return JsonValue.Create(text);
            case bool flag:
                size += 5;
                return JsonValue.Create(flag);
            case short or int or byte or sbyte or ushort or uint:
                size += 8;
                return JsonValue.Create(System.Convert.ToInt64(value, CultureInfo.InvariantCulture));
            case long or ulong or decimal or BigInteger:
                size += 16;
                return JsonValue.Create(System.Convert.ToString(value, CultureInfo.InvariantCulture));
            case float single:
                size += 8;
                return float.IsFinite(single) ? JsonValue.Create(single) : JsonValue.Create(single.ToString(CultureInfo.InvariantCulture));
            case double number:
                size += 8;
                return double.IsFinite(number) ? JsonValue.Create(number) : JsonValue.Create(number.ToString(CultureInfo.InvariantCulture));
            case DateTime { Kind: DateTimeKind.Utc } instant:
                size += 27;
                return JsonValue.Create(instant.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            case DateTime local:
                size += 26;
                return JsonValue.Create(local.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture));
            case DateTimeOffset offset:
                size += 32;
                return JsonValue.Create(offset.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture));
            case DateOnly date:
                size += 10;
                return JsonValue.Create(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            case TimeOnly time:
                size += 15;
                return JsonValue.Create(time.ToString("HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture));
            case TimeSpan span:
                size += 20;
                return JsonValue.Create(span.ToString("c", CultureInfo.InvariantCulture));
            case byte[] bytes:
                size += (bytes.Length + 2) / 3 * 4;
                return JsonValue.Create(System.Convert.ToBase64String(bytes));
            case Guid id:
                size += 36;
                return JsonValue.Create(id.ToString());
            case IPAddress or NpgsqlInet or IPNetwork:
                size += 40;
                return JsonValue.Create(value.ToString());
            case BitArray bits:
                size += bits.Length;
                return JsonValue.Create(string.Concat(bits.Cast<bool>().Select(bit => bit ? '1' : '0')));
            case Array array:
                var items = new JsonArray();
                foreach (var item in array)
                {
                    items.Add(Convert(item, isJson, ref size));
                }

                size += 2 + array.Length;
                return Reshape(items, array);
            default:
                var fallback = value.ToString() ?? "";
                size += fallback.Length;
                return JsonValue.Create(fallback);
        }
    }

    /// <summary>Multi-dimensional arrays (int[][]) arrive flat from .NET's enumerator; nest them back.</summary>
    private static JsonArray Reshape(JsonArray flat, Array array)
    {
        if (array.Rank == 1)
        {
            return flat;
        }

        var nodes = flat.Select(node => node?.DeepClone()).ToList();
        var index = 0;
        return Nest(0);

        JsonArray Nest(int dimension)
        {
            var result = new JsonArray();
            for (var i = 0; i < array.GetLength(dimension); i++)
            {
                result.Add(dimension == array.Rank - 1 ? nodes[index++] : Nest(dimension + 1));
            }

            return result;
        }
    }

    /// <summary>
    /// A JSON parameter as text of unknown type, as node-postgres sends them: PostgreSQL infers the
    /// type from where it is used (<c>id = $1</c> makes it an int). Arrays go as array literals
    /// (<c>{1,2}</c>, so <c>= any($1)</c> works), objects as JSON text, and <c>{"$bytes": base64}</c>
    /// (how ctx.db sends a <c>Uint8Array</c>) as bytea.
    /// </summary>
    public static NpgsqlParameter Parameter(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Object && IsBytes(value, out var bytes))
        {
            return new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bytea, Value = bytes };
        }

        return new NpgsqlParameter
        {
            NpgsqlDbType = NpgsqlDbType.Unknown,
            Value = value.ValueKind switch
            {
                JsonValueKind.Null or JsonValueKind.Undefined => DBNull.Value,
                JsonValueKind.Array => ArrayLiteral(value),
                _ => Text(value),
            },
        };
    }

    private static bool IsBytes(JsonElement value, out byte[] bytes)
    {
        bytes = [];
        using var properties = value.EnumerateObject();
        if (!properties.MoveNext() || properties.Current.Name != "$bytes" || properties.Current.Value.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        var base64 = properties.Current.Value.GetString()!;
        if (properties.MoveNext())
        {
            return false;
        }

        try
        {
            bytes = System.Convert.FromBase64String(base64);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A scalar's text as PostgreSQL reads it; objects as their JSON text.</summary>
    private static string Text(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };

    /// <summary>A PostgreSQL array literal: elements double-quoted and escaped, null as NULL, nested arrays nested.</summary>
    private static string ArrayLiteral(JsonElement array)
    {
        var text = new System.Text.StringBuilder("{");
        var first = true;
        foreach (var item in array.EnumerateArray())
        {
            if (!first)
            {
                text.Append(',');
            }

            first = false;
            switch (item.ValueKind)
            {
                case JsonValueKind.Null or JsonValueKind.Undefined:
                    text.Append("NULL");
                    break;
                case JsonValueKind.Array:
                    text.Append(ArrayLiteral(item));
                    break;
                default:
                    text.Append('"').Append(Text(item).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
                    break;
            }
        }

        return text.Append('}').ToString();
    }
}
