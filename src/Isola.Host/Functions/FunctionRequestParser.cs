using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Isola.Host.Errors;
using static Isola.Host.Validation.JsonFields;

namespace Isola.Host.Functions;

/// <summary>
/// Validates a deploy (<c>POST</c>) or update (<c>PUT</c>) body field by field. Every failure is a
/// 400 naming the field (<c>triggers[1].config.schedule</c>), unknown fields included, so a typo
/// never silently falls back to a default. The field dispatch is here; triggers, env vars and bindings
/// have parsers of their own (<see cref="TriggerParser"/>, <see cref="EnvVarsParser"/>, <see cref="BindingParser"/>).
/// </summary>
internal static partial class FunctionRequestParser
{
    public const int MaxNameLength = 100;
    public const int MaxDescriptionLength = 1000;
    public const int MaxEnvVars = 100;
    public const int MaxEnvValueBytes = 32 * 1024;

    private static readonly string[] KnownFields =
    [
        "name", "code", "files", "entrypoint", "description", "envVars", "timeoutMs", "memoryLimitMb", "trigger", "triggers", "methods",
        "allowUnauthenticated", "passAllHeaders", "bindings", "context", "verifyJwt", "auth", "internal", "network",
    ];

    /// <summary>Size limits a body is checked against.</summary>
    public sealed record Limits(int MaxCodeBytes, long MaxSourceBytes);

    /// <summary>
    /// Parses a create body: <c>name</c> and a source (<c>code</c>, <c>files</c>, or <paramref name="uploaded"/>
    /// files from a multipart archive) required, everything else defaulted.
    /// </summary>
    public static FunctionRequest ParseCreate(JsonElement body, Limits limits, IReadOnlyDictionary<string, byte[]>? uploaded = null)
    {
        var request = Parse(body, new FunctionSettings(), limits, uploaded);
        if (request.Name is null)
        {
            throw IsolaException.InvalidField("name", "is required");
        }

        if (request.Source is null)
        {
            throw IsolaException.InvalidField("code", "is required (or 'files' with an 'entrypoint', or a multipart 'bundle' archive)");
        }

        return request;
    }

    /// <summary>Parses an update body against the current settings; at least one field must be given.</summary>
    public static FunctionRequest ParseUpdate(JsonElement body, FunctionSettings current, Limits limits, IReadOnlyDictionary<string, byte[]>? uploaded = null)
    {
        var request = Parse(body, current, limits, uploaded);
        if (request.FieldsGiven.Count == 0 && uploaded is null)
        {
            throw IsolaException.InvalidRequest("the update names no field to change; send any of: " + string.Join(", ", KnownFields.Skip(1)));
        }

        return request;
    }

    /// <summary>Whether <paramref name="name"/> could name a function; false for anything a deploy would refuse.</summary>
    public static bool IsValidName(string name) => name.Length is > 0 and <= MaxNameLength && NamePattern().IsMatch(name);

    public static void ValidateName(string name, string field = "name")
    {
        if (!IsValidName(name))
        {
            throw IsolaException.InvalidField(field,
                $"must be 1-{MaxNameLength} characters of letters, digits, '-', '_' and '.', starting with a letter or digit (got '{Truncate(name)}')");
        }
    }

    private static FunctionRequest Parse(JsonElement body, FunctionSettings settings, Limits limits, IReadOnlyDictionary<string, byte[]>? uploaded)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidRequest($"the request body must be a JSON object, not {Describe(body)}");
        }

        string? name = null, code = null, entrypoint = null;
        Dictionary<string, byte[]>? files = null;
        IReadOnlyDictionary<string, string>? env = null;
        List<TriggerSpec>? triggers = null;
        var given = new List<string>();
        foreach (var property in body.EnumerateObject())
        {
            var field = property.Name;
            var value = property.Value;
            if (given.Contains(field))
            {
                throw IsolaException.InvalidField(field, "appears more than once");
            }

            given.Add(field);
            switch (field)
            {
                case "name":
                    name = RequireString(value, field);
                    ValidateName(name);
                    break;
                case "code":
                    code = RequireString(value, field);
                    if (code.Trim().Length == 0)
                    {
                        throw IsolaException.InvalidField(field, "is empty; it must hold the function's source");
                    }

                    var size = Encoding.UTF8.GetByteCount(code);
                    if (size > limits.MaxCodeBytes)
                    {
                        throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"code is {size} bytes; the limit is {limits.MaxCodeBytes} bytes") { Field = field };
                    }

                    break;
                case "files":
                    files = ParseFiles(value, limits.MaxSourceBytes);
                    break;
                case "entrypoint":
                    entrypoint = RequireString(value, field);
                    break;
                case "description":
                    settings = settings with { Description = OptionalString(value, field, MaxDescriptionLength) };
                    break;
                case "context":
                    settings = settings with { Context = OptionalString(value, field, MaxNameLength) };
                    break;
                case "envVars":
                    env = EnvVarsParser.Parse(value);
                    break;
                case "timeoutMs":
                    settings = settings with { TimeoutMs = RequireInt(value, field, FunctionSettings.MinTimeoutMs, FunctionSettings.MaxTimeoutMs) };
                    break;
                case "memoryLimitMb":
                    settings = settings with { MemoryLimitMb = RequireInt(value, field, FunctionSettings.MinMemoryLimitMb, FunctionSettings.MaxMemoryLimitMb) };
                    break;
                case "trigger":
                    (triggers ??= []).Add(TriggerParser.Parse(value, field));
                    break;
                case "triggers":
                    triggers ??= [];
                    var items = RequireArray(value, field);
                    if (items.Count == 0)
                    {
                        throw IsolaException.InvalidField(field, "must hold at least one trigger (omit it for the default http trigger)");
                    }

                    for (var i = 0; i < items.Count; i++)
                    {
                        triggers.Add(TriggerParser.Parse(items[i], $"{field}[{i}]"));
                    }

                    break;
                case "methods":
                    settings = settings with { Methods = ParseMethods(value) };
                    break;
                case "allowUnauthenticated":
                    settings = settings with { AllowUnauthenticated = RequireBool(value, field) };
                    break;
                case "passAllHeaders":
                    settings = settings with { PassAllHeaders = RequireBool(value, field) };
                    break;
                case "verifyJwt":
                    settings = settings with { VerifyJwt = RequireBool(value, field) };
                    break;
                case "internal":
                    settings = settings with { Internal = RequireBool(value, field) };
                    break;
                case "auth" when value.ValueKind == JsonValueKind.Null:
                    settings = settings with { Auth = null };
                    break;
                case "auth":
                    var mode = RequireString(value, field);
                    if (!FunctionSettings.AuthModes.Contains(mode))
                    {
                        throw IsolaException.InvalidField(field, $"must be one of {string.Join(", ", FunctionSettings.AuthModes)} (got '{Truncate(mode)}')");
                    }

                    settings = settings with { Auth = mode };
                    break;
                case "bindings":
                    settings = settings with { Bindings = BindingParser.Parse(value) };
                    break;
                case "network":
                    settings = settings with { Network = ParseNetwork(value, field) };
                    break;
                default:
                    throw IsolaException.InvalidField(field, $"is not a known field; known fields are {string.Join(", ", KnownFields)}");
            }
        }

        var source = ChooseSource(code, files, entrypoint, uploaded, limits);
        if (triggers is not null)
        {
            // Butterbase's single 'trigger' and MolnOS's 'triggers' list are one list; repeats collapse.
            settings = settings with { Triggers = [.. triggers.Distinct()] };
        }

        return new FunctionRequest(name, source, env, settings, given);
    }

    /// <summary><c>network: {"allowPrivate": bool}</c>; null restores the default (public internet only).</summary>
    private static NetworkSettings ParseNetwork(JsonElement value, string field)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return NetworkSettings.Default;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidField(field, "must be an object such as {\"allowPrivate\": true}");
        }

        var network = NetworkSettings.Default;
        foreach (var property in value.EnumerateObject())
        {
            network = property.Name switch
            {
                "allowPrivate" => network with { AllowPrivate = RequireBool(property.Value, $"{field}.allowPrivate") },
                _ => throw IsolaException.InvalidField($"{field}.{Truncate(property.Name)}", "is not a known field; the known field is allowPrivate"),
            };
        }

        return network;
    }

    private static FunctionSource? ChooseSource(string? code, Dictionary<string, byte[]>? files, string? entrypoint,
        IReadOnlyDictionary<string, byte[]>? uploaded, Limits limits)
    {
        var given = (code is null ? 0 : 1) + (files is null ? 0 : 1) + (uploaded is null ? 0 : 1);
        if (given > 1)
        {
            throw IsolaException.InvalidField(code is not null ? "code" : "files", "cannot be combined with another source: send one of code, files, or a bundle archive");
        }

        if (code is not null)
        {
            return entrypoint is null ? FunctionSource.FromCode(code) : throw IsolaException.InvalidField("entrypoint", "only applies to 'files' or a bundle archive");
        }

        var set = files ?? uploaded?.ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal);
        if (set is null)
        {
            return entrypoint is null ? null : throw IsolaException.InvalidField("entrypoint", "only applies to 'files' or a bundle archive");
        }

        var total = set.Values.Sum(bytes => (long)bytes.Length);
        if (total > limits.MaxSourceBytes)
        {
            throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the function's files are {total} bytes; the limit is {limits.MaxSourceBytes} bytes") { Field = files is null ? "bundle" : "files" };
        }

        return new FunctionSource(set, SourcePaths.ChooseEntrypoint(set, entrypoint, "entrypoint"), IsSingleCode: false);
    }

    private static Dictionary<string, byte[]> ParseFiles(JsonElement value, long maxBytes)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidField("files", $"must be an object of path → text content, not {Describe(value)}");
        }

        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        long total = 0;
        foreach (var property in value.EnumerateObject())
        {
            var field = $"files.{property.Name}";
            var path = SourcePaths.Normalize(property.Name, field);
            var bytes = Encoding.UTF8.GetBytes(RequireString(property.Value, field));
            total += bytes.Length;
            if (total > maxBytes)
            {
                throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the function's files are over the limit of {maxBytes} bytes") { Field = "files" };
            }

            if (!files.TryAdd(path, bytes))
            {
                throw IsolaException.InvalidField(field, $"names the same file as another entry ({path})");
            }
        }

        if (files.Count is 0 or > SourcePaths.MaxFiles)
        {
            throw IsolaException.InvalidField("files", $"must hold 1-{SourcePaths.MaxFiles} files");
        }

        return files;
    }

    private static List<string>? ParseMethods(JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null; // All methods.
        }

        var items = RequireArray(value, "methods");
        if (items.Count == 0)
        {
            throw IsolaException.InvalidField("methods", "must list at least one method (omit it or send null to allow all)");
        }

        var methods = new List<string>();
        for (var i = 0; i < items.Count; i++)
        {
            var method = RequireString(items[i], $"methods[{i}]").ToUpperInvariant();
            if (!FunctionSettings.HttpMethods.Contains(method))
            {
                throw IsolaException.InvalidField($"methods[{i}]", $"must be one of {string.Join(", ", FunctionSettings.HttpMethods)} (got '{Truncate(method)}')");
            }

            if (!methods.Contains(method))
            {
                methods.Add(method);
            }
        }

        return methods;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();
}
