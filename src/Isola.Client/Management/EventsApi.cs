using System.Text.Json;
using System.Text.Json.Nodes;

namespace Isola.Client;

/// <summary>Events (docs/triggers.md): publish to every function of the app subscribed to a name.</summary>
public sealed class EventsApi
{
    private readonly IsolaClient _client;

    internal EventsApi(IsolaClient client) => _client = client;

    /// <summary>Publishes an event; returns its id. A repeated <paramref name="id"/> is delivered once.</summary>
    public async Task<string> EmitAsync(string name, JsonNode? data = null, string? id = null, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject { ["name"] = name };
        if (data is not null)
        {
            body["data"] = data.DeepClone();
        }

        if (id is not null)
        {
            body["id"] = id;
        }

        var answer = await _client.SendJsonAsync(HttpMethod.Post, _client.AppPath("events"), body, cancellationToken).ConfigureAwait(false);
        return answer.TryGetProperty("id", out var given) && given.ValueKind == JsonValueKind.String ? given.GetString()! : "";
    }
}
