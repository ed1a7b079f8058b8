using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Isola.Host.Errors;
using Isola.Host.Scheduling;

namespace Isola.Host.Functions;

/// <summary>
/// Validates a deploy (<c>POST</c>) or update (<c>PUT</c>) body field by field. Every failure is a
/// 400 naming the field (<c>triggers[1].config.schedule</c>), unknown fields included, so a typo
/// never silently falls back to a default.
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
                    env = ParseEnv(value);
                    break;
                case "timeoutMs":
                    settings = settings with { TimeoutMs = RequireInt(value, field, FunctionSettings.MinTimeoutMs, FunctionSettings.MaxTimeoutMs) };
                    break;
                case "memoryLimitMb":
                    settings = settings with { MemoryLimitMb = RequireInt(value, field, FunctionSettings.MinMemoryLimitMb, FunctionSettings.MaxMemoryLimitMb) };
                    break;
                case "trigger":
                    (triggers ??= []).Add(ParseTrigger(value, field));
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
                        triggers.Add(ParseTrigger(items[i], $"{field}[{i}]"));
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
                    settings = settings with { Bindings = ParseBindings(value) };
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

    private static TriggerSpec ParseTrigger(JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidField(field, $"must be an object like {{\"type\": \"http\"}}, not {Describe(value)}");
        }

        string? type = null;
        var config = new Dictionary<string, string>();
        JsonElement? configElement = null;
        string? eventName = null;
        var retry = new Dictionary<string, string>();
        foreach (var property in value.EnumerateObject())
        {
            switch (property.Name)
            {
                case TriggerSpec.MaxAttempts or TriggerSpec.BackoffMs:
                    // MolnOS puts an event trigger's fields beside its type; they fold into config like eventName.
                    retry[property.Name] = ParseRetrySetting(property.Value, $"{field}.{property.Name}", property.Name);
                    break;
                case "type":
                    type = RequireString(property.Value, $"{field}.type");
                    break;
                case "config":
                    if (property.Value.ValueKind != JsonValueKind.Object)
                    {
                        throw IsolaException.InvalidField($"{field}.config", $"must be an object, not {Describe(property.Value)}");
                    }

                    configElement = property.Value;
                    break;
                case "eventName":
                    eventName = RequireString(property.Value, $"{field}.eventName");
                    break;
                default:
                    throw IsolaException.InvalidField($"{field}.{property.Name}", "is not a known trigger field (type, config, eventName, maxAttempts, backoffMs)");
            }
        }

        if (type is null)
        {
            throw IsolaException.InvalidField($"{field}.type", $"is required: one of {string.Join(", ", TriggerSpec.Types)}");
        }

        if (!TriggerSpec.Types.Contains(type))
        {
            throw IsolaException.InvalidField($"{field}.type", $"must be one of {string.Join(", ", TriggerSpec.Types)} (got '{Truncate(type)}')");
        }

        string[] allowedConfig = type switch
        {
            TriggerSpec.Cron => ["schedule", "timezone"],
            TriggerSpec.Event => ["eventName", TriggerSpec.MaxAttempts, TriggerSpec.BackoffMs],
            TriggerSpec.WebSocket => ["event"],
            _ => [],
        };
        if (configElement is { } configObject)
        {
            foreach (var property in configObject.EnumerateObject())
            {
                var path = $"{field}.config.{property.Name}";
                if (!allowedConfig.Contains(property.Name))
                {
                    throw IsolaException.InvalidField(path, allowedConfig.Length == 0
                        ? $"is not known: a {type} trigger takes no config"
                        : $"is not known for a {type} trigger (known: {string.Join(", ", allowedConfig)})");
                }

                config[property.Name] = property.Name is TriggerSpec.MaxAttempts or TriggerSpec.BackoffMs
                    ? ParseRetrySetting(property.Value, path, property.Name)
                    : RequireString(property.Value, path);
            }
        }

        foreach (var (name, setting) in retry)
        {
            if (type != TriggerSpec.Event)
            {
                throw IsolaException.InvalidField($"{field}.{name}", "is only valid on an event trigger");
            }

            if (config.TryGetValue(name, out var fromConfig) && fromConfig != setting)
            {
                throw IsolaException.InvalidField($"{field}.{name}", $"disagrees with config.{name}");
            }

            config[name] = setting;
        }

        if (eventName is not null)
        {
            if (type != TriggerSpec.Event)
            {
                throw IsolaException.InvalidField($"{field}.eventName", "is only valid on an event trigger");
            }

            if (config.TryGetValue("eventName", out var fromConfig) && fromConfig != eventName)
            {
                throw IsolaException.InvalidField($"{field}.eventName", "disagrees with config.eventName");
            }

            config["eventName"] = eventName;
        }

        switch (type)
        {
            case TriggerSpec.Cron:
                if (!config.TryGetValue("schedule", out var schedule))
                {
                    throw IsolaException.InvalidField($"{field}.config.schedule", "is required for a cron trigger, e.g. \"*/5 * * * *\"");
                }

                config.TryGetValue("timezone", out var timeZone);
                if (!CronSchedule.TryParse(schedule, timeZone, out _, out var error))
                {
                    var badField = error!.StartsWith("time zone", StringComparison.Ordinal) ? "timezone" : "schedule";
                    throw IsolaException.InvalidField($"{field}.config.{badField}", $"is not valid: {error}");
                }

                break;
            case TriggerSpec.Event:
                if (!config.TryGetValue("eventName", out var name))
                {
                    throw IsolaException.InvalidField($"{field}.eventName", "is required for an event trigger");
                }

                RequireToken(name, $"{field}.eventName");
                break;
            case TriggerSpec.WebSocket:
                if (!config.TryGetValue("event", out var wsEvent))
                {
                    throw IsolaException.InvalidField($"{field}.config.event", "is required for a websocket trigger");
                }

                RequireToken(wsEvent, $"{field}.config.event");
                break;
        }

        return new TriggerSpec(type, config);
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

    /// <summary>An object of env var name → value (also the body of the secrets endpoints, with <paramref name="field"/> naming it in errors).</summary>
    internal static Dictionary<string, string> ParseEnv(JsonElement value, string field = "envVars")
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
            if (Encoding.UTF8.GetByteCount(text) > MaxEnvValueBytes)
            {
                throw IsolaException.InvalidField(entry, $"is longer than {MaxEnvValueBytes} bytes");
            }

            env[property.Name] = text;
        }

        if (env.Count > MaxEnvVars)
        {
            throw IsolaException.InvalidField(field, $"holds {env.Count} variables; the limit is {MaxEnvVars}");
        }

        return env;
    }

    private static List<BindingSpec> ParseBindings(JsonElement value)
    {
        var items = RequireArray(value, "bindings");
        var bindings = new List<BindingSpec>();
        for (var i = 0; i < items.Count; i++)
        {
            var field = $"bindings[{i}]";
            var item = items[i];
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw IsolaException.InvalidField(field, $"must be an object like {{\"service\": \"databases\", \"permissions\": [...]}}, not {Describe(item)}");
            }

            string? service = null;
            List<BindingPermission>? permissions = null;
            foreach (var property in item.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "service":
                        service = RequireString(property.Value, $"{field}.service");
                        if (!BindingSpec.Services.Contains(service))
                        {
                            throw IsolaException.InvalidField($"{field}.service", $"must be one of {string.Join(", ", BindingSpec.Services)} (got '{Truncate(service)}')");
                        }

                        break;
                    case "permissions":
                        permissions = ParsePermissions(property.Value, $"{field}.permissions");
                        break;
                    default:
                        throw IsolaException.InvalidField($"{field}.{property.Name}", "is not a known binding field (service, permissions)");
                }
            }

            if (service is null)
            {
                throw IsolaException.InvalidField($"{field}.service", "is required");
            }

            // No permissions list means service-level access (MolnOS's coarsest granularity).
            bindings.Add(new BindingSpec(service, permissions ?? []));
        }

        return bindings;
    }

    private static List<BindingPermission> ParsePermissions(JsonElement value, string field)
    {
        var items = RequireArray(value, field);
        var permissions = new List<BindingPermission>();
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"{field}[{i}]";
            if (items[i].ValueKind != JsonValueKind.Object)
            {
                throw IsolaException.InvalidField(path, $"must be an object with resource, actions and optional targets, not {Describe(items[i])}");
            }

            string? resource = null;
            List<string>? actions = null, targets = null;
            foreach (var property in items[i].EnumerateObject())
            {
                switch (property.Name)
                {
                    case "resource":
                        resource = RequireString(property.Value, $"{path}.resource");
                        RequireToken(resource, $"{path}.resource");
                        break;
                    case "actions":
                        actions = RequireStringList(property.Value, $"{path}.actions");
                        foreach (var (action, index) in actions.Select((a, n) => (a, n)))
                        {
                            if (action is not ("read" or "write" or "delete" or "admin" or "publish" or "subscribe" or "*"))
                            {
                                throw IsolaException.InvalidField($"{path}.actions[{index}]", $"must be one of read, write, delete, admin, publish, subscribe, * (got '{Truncate(action)}')");
                            }
                        }

                        break;
                    case "targets":
                        targets = RequireStringList(property.Value, $"{path}.targets");
                        break;
                    default:
                        throw IsolaException.InvalidField($"{path}.{property.Name}", "is not a known permission field (resource, actions, targets)");
                }
            }

            if (resource is null)
            {
                throw IsolaException.InvalidField($"{path}.resource", "is required");
            }

            if (actions is null || actions.Count == 0)
            {
                throw IsolaException.InvalidField($"{path}.actions", "must list at least one action");
            }

            permissions.Add(new BindingPermission(resource, actions, targets));
        }

        return permissions;
    }

    private static List<string> RequireStringList(JsonElement value, string field)
    {
        var items = RequireArray(value, field);
        var list = new List<string>();
        for (var i = 0; i < items.Count; i++)
        {
            list.Add(RequireString(items[i], $"{field}[{i}]"));
        }

        return list;
    }

    /// <summary>
    /// An event trigger's <c>maxAttempts</c> (1-100) or <c>backoffMs</c> (0-3600000, the first retry's delay), kept in
    /// config as invariant text like every config value.
    /// </summary>
    private static string ParseRetrySetting(JsonElement value, string field, string name)
    {
        var (min, max) = name == TriggerSpec.MaxAttempts ? (1, TriggerSpec.MaxMaxAttempts) : (0, TriggerSpec.MaxBackoffMs);
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min || number > max)
        {
            throw IsolaException.InvalidField(field, $"must be a whole number from {min} to {max}, not {Describe(value)}");
        }

        return number.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Whether <paramref name="value"/> may name an event (or a websocket event): what an event trigger's eventName accepts.</summary>
    public static bool IsValidToken(string value) => value.Length is > 0 and <= 200 && TokenPattern().IsMatch(value);

    private static void RequireToken(string value, string field)
    {
        if (!IsValidToken(value))
        {
            throw IsolaException.InvalidField(field, $"must be 1-200 characters of letters, digits and . _ - : / (got '{Truncate(value)}')");
        }
    }

    private static string RequireString(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw IsolaException.InvalidField(field, $"must be a string, not {Describe(value)}");

    private static string? OptionalString(JsonElement value, string field, int maxLength)
    {
        if (value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        var text = RequireString(value, field);
        return text.Length <= maxLength ? text : throw IsolaException.InvalidField(field, $"is {text.Length} characters; the limit is {maxLength}");
    }

    private static bool RequireBool(JsonElement value, string field) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw IsolaException.InvalidField(field, $"must be true or false, not {Describe(value)}"),
    };

    private static int RequireInt(JsonElement value, string field, int min, int max)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out var number))
        {
            throw IsolaException.InvalidField(field, $"must be an integer from {min} to {max}, not {Describe(value)}");
        }

        return number >= min && number <= max
            ? (int)number
            : throw IsolaException.InvalidField(field, $"must be from {min} to {max} (got {number})");
    }

    private static List<JsonElement> RequireArray(JsonElement value, string field) =>
        value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray()] : throw IsolaException.InvalidField(field, $"must be an array, not {Describe(value)}");

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => $"the string \"{Truncate(value.GetString()!)}\"",
        JsonValueKind.Number => $"the number {value.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"the boolean {value.GetRawText()}",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => value.ValueKind.ToString(),
    };

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9._:/-]+$")]
    private static partial Regex TokenPattern();
}
