using System.Text.Json;

namespace Isola.Host.Realtime;

/// <summary>
/// One message from a realtime client, checked strictly: <c>{"event","data"?,"id"?}</c>,
/// <c>{"type":"subscribe"|"unsubscribe","channel","id"?}</c>, or a live query's <c>{"type":"subscribe","id","fn","args"?}</c>
/// and <c>{"type":"unsubscribe","id"}</c>. <see cref="Name"/> is the event, the channel or the query's function.
/// </summary>
internal sealed record ClientMessage(string Type, string Name, JsonElement? Id, JsonElement Data)
{
    /// <summary>A live query's subscribe (with <c>fn</c>) or unsubscribe (with no <c>channel</c>); <see cref="Data"/> holds its args.</summary>
    public bool IsLiveQuery { get; init; }

    public const string Event = "event";
    public const string Subscribe = "subscribe";
    public const string Unsubscribe = "unsubscribe";

    private static readonly JsonDocumentOptions ParseOptions = new() { MaxDepth = 64 };

    /// <summary>A message that is not one of the two shapes; the reply names what is wrong.</summary>
    public sealed class InvalidException(string message, JsonElement? replyTo) : Exception(message)
    {
        public JsonElement? ReplyTo { get; } = replyTo;
    }

    public static ClientMessage Parse(ReadOnlyMemory<byte> utf8)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, ParseOptions);
        }
        catch (JsonException ex)
        {
            throw new InvalidException($"a message must be JSON: {ex.Message}", null);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidException($"a message is a JSON object such as {{\"event\":\"ping\",\"data\":{{}},\"id\":1}}, not {root.ValueKind.ToString().ToLowerInvariant()}", null);
            }

            JsonElement? id = root.TryGetProperty("id", out var idElement) ? idElement.Clone() : null;
            if (id is { ValueKind: not (JsonValueKind.String or JsonValueKind.Number) })
            {
                throw new InvalidException("id must be a string or a number (it comes back as replyTo)", null);
            }

            var type = Event;
            if (root.TryGetProperty("type", out var typeElement))
            {
                type = typeElement.ValueKind == JsonValueKind.String && typeElement.GetString() is Subscribe or Unsubscribe
                    ? typeElement.GetString()!
                    : throw new InvalidException($"type must be \"{Subscribe}\" or \"{Unsubscribe}\" (leave it out to send an event)", id);
            }

            if (type != Event && (root.TryGetProperty("fn", out _) || (type == Unsubscribe && !root.TryGetProperty("channel", out _))))
            {
                return LiveQuery(root, type, id);
            }

            string[] known = type == Event ? ["event", "data", "id"] : ["type", "channel", "id"];
            foreach (var property in root.EnumerateObject())
            {
                if (!known.Contains(property.Name))
                {
                    throw new InvalidException($"'{property.Name}' is not a field of {(type == Event ? "an event" : "a " + type)} message (known: {string.Join(", ", known)})", id);
                }
            }

            var nameField = type == Event ? "event" : "channel";
            var name = root.TryGetProperty(nameField, out var nameElement) && nameElement.ValueKind == JsonValueKind.String ? nameElement.GetString() : null;
            if (!RealtimeNames.IsName(name))
            {
                throw new InvalidException(name is null
                    ? $"{nameField} is required, as a string of {RealtimeNames.NameRule}"
                    : $"{nameField} must be {RealtimeNames.NameRule} (got '{(name.Length > 40 ? name[..40] + "…" : name)}')", id);
            }

            var data = root.TryGetProperty("data", out var dataElement) ? dataElement.Clone() : RealtimeFrames.NoData;
            return new ClientMessage(type, name!, id, data);
        }
    }

    private static ClientMessage LiveQuery(JsonElement root, string type, JsonElement? id)
    {
        string[] known = type == Subscribe ? ["type", "id", "fn", "args"] : ["type", "id"];
        foreach (var property in root.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                throw new InvalidException($"'{property.Name}' is not a field of a live query's {type} (known: {string.Join(", ", known)})", id);
            }
        }

        if (id is null)
        {
            throw new InvalidException($"a live query's {type} needs an id (a string or a number): results and errors come back with it", null);
        }

        if (type == Unsubscribe)
        {
            return new ClientMessage(type, "", id, RealtimeFrames.NoData) { IsLiveQuery = true };
        }

        var fn = root.TryGetProperty("fn", out var fnElement) && fnElement.ValueKind == JsonValueKind.String ? fnElement.GetString() : null;
        if (string.IsNullOrEmpty(fn) || fn.Length > 100)
        {
            throw new InvalidException("fn must be the name of a typed query, 1-100 characters", id);
        }

        var args = root.TryGetProperty("args", out var argsElement) ? argsElement.Clone() : default;
        if (args.ValueKind is not (JsonValueKind.Undefined or JsonValueKind.Object))
        {
            throw new InvalidException("args must be a JSON object of the query's arguments", id);
        }

        return new ClientMessage(type, fn, id, args) { IsLiveQuery = true };
    }
}
