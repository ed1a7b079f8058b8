using System.Text.Json;

namespace Isola.Client;

/// <summary>
/// App-wide secrets (<c>/v1/{app}/secrets</c>) and a function's own env vars (<c>/v1/{app}/functions/{name}/secrets</c>).
/// Values go in sealed; only names come back.
/// </summary>
public sealed class SecretsApi
{
    private readonly IsolaClient _client;

    internal SecretsApi(IsolaClient client) => _client = client;

    /// <summary>Names of the app's secrets, or of <paramref name="function"/>'s own env vars.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string? function = null, CancellationToken cancellationToken = default) =>
        Names(await _client.SendJsonAsync(HttpMethod.Get, Path(function), null, cancellationToken).ConfigureAwait(false));

    /// <summary>Adds or replaces the given values, keeping the others; returns every name afterwards.</summary>
    public async Task<IReadOnlyList<string>> SetAsync(IReadOnlyDictionary<string, string> values, string? function = null, CancellationToken cancellationToken = default) =>
        Names(await _client.SendJsonAsync(HttpMethod.Put, Path(function), values, cancellationToken).ConfigureAwait(false));

    /// <summary>Removes the named values (unknown names are ignored); returns the names left.</summary>
    public async Task<IReadOnlyList<string>> UnsetAsync(IReadOnlyCollection<string> names, string? function = null, CancellationToken cancellationToken = default) =>
        Names(await _client.SendJsonAsync(HttpMethod.Delete, Path(function), names, cancellationToken).ConfigureAwait(false));

    private string Path(string? function) =>
        _client.AppPath(function is null ? "secrets" : $"functions/{Uri.EscapeDataString(function)}/secrets");

    private static List<string> Names(JsonElement answer) => [.. answer.GetProperty("secrets").EnumerateArray().Select(name => name.GetString()!)];
}
