using System.Text.Json;

namespace Isola.Host.Realtime.LiveQueries;

/// <summary>The frames of live queries (docs/typed-functions.md, "Live queries"), each for one subscription <c>id</c>.</summary>
internal static class LiveQueryFrames
{
    /// <summary><c>{"type": "result", "id", "value"}</c>: the query's value, first and whenever it changed.</summary>
    public static byte[] Result(JsonElement id, byte[] value) => Write(w =>
    {
        w.WriteString("type", "result");
        w.WritePropertyName("id");
        id.WriteTo(w);
        w.WritePropertyName("value");
        // The runtime wrote it with JSON.stringify; checked anyway, as a frame must never be broken JSON.
        w.WriteRawValue(value);
    });

    /// <summary><c>{"type": "error", "id", "error": {"code", "message"}}</c>: the subscription failed, or the query's run did.</summary>
    public static byte[] Error(JsonElement id, string code, string message) => Write(w =>
    {
        w.WriteString("type", "error");
        w.WritePropertyName("id");
        id.WriteTo(w);
        w.WriteStartObject("error");
        w.WriteString("code", code);
        w.WriteString("message", message);
        w.WriteEndObject();
    });

    /// <summary><c>{"type": "unsubscribed", "id"}</c>: nothing more comes for this id.</summary>
    public static byte[] Unsubscribed(JsonElement id) => Write(w =>
    {
        w.WriteString("type", "unsubscribed");
        w.WritePropertyName("id");
        id.WriteTo(w);
    });

    private static byte[] Write(Action<Utf8JsonWriter> body) => RealtimeFrames.Write(body);
}
