using System.Text.Json;
using Isola.Host.Errors;
using Isola.Host.Scheduling;
using static Isola.Host.Validation.JsonFields;

namespace Isola.Host.Functions;

/// <summary>The per-trigger rules of a deploy: http, cron (a schedule Cronos accepts), event (a name, retries) and websocket.</summary>
internal static class TriggerParser
{
    /// <summary>One entry of <c>triggers</c> (or the single <c>trigger</c>) into its canonical <c>{type, config}</c>.</summary>
    public static TriggerSpec Parse(JsonElement value, string field)
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
}
