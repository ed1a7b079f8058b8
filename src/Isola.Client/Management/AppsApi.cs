using System.Text.Json;
using System.Text.Json.Nodes;

namespace Isola.Client;

/// <summary><c>/v1/apps</c>: the apps of the node.</summary>
public sealed class AppsApi
{
    private readonly IsolaClient _client;

    internal AppsApi(IsolaClient client) => _client = client;

    /// <summary><c>{apps: [{id, createdAt, functions}]}</c>.</summary>
    public Task<JsonElement> ListAsync(CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync(HttpMethod.Get, "v1/apps", null, cancellationToken);

    /// <summary>Creates an app (APP_EXISTS when it does).</summary>
    public Task<JsonElement> CreateAsync(string id, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync(HttpMethod.Post, "v1/apps", new JsonObject { ["id"] = id }, cancellationToken);
}
