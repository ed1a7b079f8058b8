using System.Text.Json;
using System.Text.Json.Nodes;

namespace Isola.Client;

/// <summary>The app's database from the control plane (docs/data.md): migrations and operator queries.</summary>
public sealed class DatabaseApi
{
    private readonly IsolaClient _client;

    internal DatabaseApi(IsolaClient client) => _client = client;

    /// <summary>Applies a migration once by name: <c>{name, applied}</c> (<c>applied: false</c> when it had been already).</summary>
    public Task<JsonElement> MigrateAsync(string name, string sql, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync(HttpMethod.Post, _client.AppPath("db/migrations"), new JsonObject { ["name"] = name, ["sql"] = sql }, cancellationToken);

    /// <summary>The migrations applied so far.</summary>
    public Task<JsonElement> MigrationsAsync(CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync(HttpMethod.Get, _client.AppPath("db/migrations"), null, cancellationToken);

    /// <summary>Runs one statement as service_role: <c>{rows, rowCount, fields}</c>.</summary>
    public Task<JsonElement> QueryAsync(string sql, IEnumerable<object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        var body = new JsonObject { ["sql"] = sql };
        if (parameters is not null)
        {
            body["params"] = JsonSerializer.SerializeToNode(parameters.ToArray(), IsolaClient.JsonOptions);
        }

        return _client.SendJsonAsync(HttpMethod.Post, _client.AppPath("db/query"), body, cancellationToken);
    }
}
