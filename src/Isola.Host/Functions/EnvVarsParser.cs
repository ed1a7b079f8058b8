using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Isola.Host.Errors;
using static Isola.Host.Validation.JsonFields;

namespace Isola.Host.Functions;

/// <summary>Env vars and secrets: names a process may carry (no platform prefixes), string values, bounded in count and size.</summary>
internal static partial class EnvVarsParser
{
    /// <summary>An object of env var name → value (also the body of the secrets endpoints, with <paramref name="field"/> naming it in errors).</summary>
    public static Dictionary<string, string> Parse(JsonElement value, string field = "envVars")
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidField(field, $"must be an object of name → string value, not {Describe(value)}");
        }

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            var entry = $"{field}.{property.Name}";
            if (!EnvNamePattern().IsMatch(property.Name))
            {
                throw IsolaException.InvalidField(entry, "is not a valid variable name (letters, digits and '_', not starting with a digit)");
            }

            if (property.Name.StartsWith("ISOLA_", StringComparison.OrdinalIgnoreCase) || property.Name.StartsWith("DENO_", StringComparison.OrdinalIgnoreCase))
            {
                throw IsolaException.InvalidField(entry, "uses a reserved prefix (ISOLA_ and DENO_ belong to the platform)");
            }

            var text = property.Value.ValueKind == JsonValueKind.String
                ? property.Value.GetString()!
                : throw IsolaException.InvalidField(entry, $"must be a string, not {Describe(property.Value)}");
            if (Encoding.UTF8.GetByteCount(text) > FunctionRequestParser.MaxEnvValueBytes)
            {
                throw IsolaException.InvalidField(entry, $"is longer than {FunctionRequestParser.MaxEnvValueBytes} bytes");
            }

            env[property.Name] = text;
        }

        if (env.Count > FunctionRequestParser.MaxEnvVars)
        {
            throw IsolaException.InvalidField(field, $"holds {env.Count} variables; the limit is {FunctionRequestParser.MaxEnvVars}");
        }

        return env;
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNamePattern();
}
