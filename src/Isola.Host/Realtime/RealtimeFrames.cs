using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Isola.Host.Realtime;

/// <summary>
/// The JSON frames the host sends to realtime clients (docs/triggers.md, "Realtime WebSocket"), written once as
/// UTF-8 and shared by every connection they go to.
/// </summary>
internal static class RealtimeFrames
{
    /// <summary>The <c>data</c> of a message or push that had none.</summary>
    public static readonly JsonElement NoData = JsonDocument.Parse("null").RootElement;

    // Messages quote user input; the frames are JSON read by programs, never HTML.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The first frame of every connection: its id, which functions see as <c>connectionId</c>.</summary>
    public static byte[] Connected(string connectionId) => Write(w =>
    {
        w.WriteString("type", "connected");
        w.WriteString("connectionId", connectionId);
    });

    /// <summary>A function's answer to the message <paramref name="replyTo"/>: <c>{"replyTo", "event", "data"}</c>.</summary>
    public static byte[] Reply(JsonElement? replyTo, string eventName, JsonElement data) => Write(w =>
    {
        WriteReplyTo(w, replyTo);
        w.WriteString("event", eventName);
        w.WritePropertyName("data");
        data.WriteTo(w);
    });

    /// <summary>Why the message <paramref name="replyTo"/> was not handled: <c>{"replyTo", "error": {"code", "message"}}</c>.</summary>
    public static byte[] Error(JsonElement? replyTo, string code, string message) => Write(w =>
    {
        WriteReplyTo(w, replyTo);
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteEndObject();
    });

    /// <summary>The acknowledgement of a subscribe or unsubscribe: <c>{"type": "subscribed"|"unsubscribed", "channel", "replyTo"?}</c>.</summary>
    public static byte[] Subscription(string type, string channel, JsonElement? replyTo) => Write(w =>
    {
        w.WriteString("type", type);
        w.WriteString("channel", channel);
        if (replyTo is { } id)
        {
            w.WritePropertyName("replyTo");
            id.WriteTo(w);
        }
    });

    /// <summary>What <c>ctx.realtime.send(connectionId, data)</c> delivers: <c>{"type": "message", "data"}</c>.</summary>
    public static byte[] Message(JsonElement data) => Write(w =>
    {
        w.WriteString("type", "message");
        w.WritePropertyName("data");
        data.WriteTo(w);
    });

    /// <summary>What <c>ctx.realtime.broadcast(channel, data)</c> delivers: <c>{"type": "broadcast", "channel", "data"}</c>.</summary>
    public static byte[] Broadcast(string channel, JsonElement data) => Write(w =>
    {
        w.WriteString("type", "broadcast");
        w.WriteString("channel", channel);
        w.WritePropertyName("data");
        data.WriteTo(w);
    });

    private static void WriteReplyTo(Utf8JsonWriter writer, JsonElement? replyTo)
    {
        writer.WritePropertyName("replyTo");
        if (replyTo is { } id)
        {
            id.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }
    }

    /// <summary>One JSON object written by <paramref name="body"/>, as UTF-8 (live queries' frames use it too).</summary>
    internal static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }
}
