using System.Text.Json;

namespace Isola.Host.Realtime;

/// <summary>
/// One message from a realtime client, checked strictly: <c>{"event","data"?,"id"?}</c> or
/// <c>{"type":"subscribe"|"unsubscribe","channel","id"?}</c>. <see cref="Name"/> is the event or the channel.
/// </summary>
internal sealed record ClientMessage(string Type, string Name, JsonElement? Id, JsonElement Data)
{
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
}
