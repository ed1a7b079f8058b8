using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace Isola.Host.Auth;

/// <summary>
/// Key sets of apps that accept tokens issued elsewhere: fetched from the JWKS URL, kept 10 minutes,
/// fetched again early (at most once a minute) when a token names a key id the set lacks (rotation).
/// </summary>
internal sealed class JwksCache(TimeProvider time) : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MinRefetch = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (DateTimeOffset FetchedAt, Task<List<JsonObject>> Keys)> _sets = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<JsonObject?> FindKeyAsync(string url, string? keyId, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var entry = _sets.GetOrAdd(url, u => (now, FetchAsync(u)));
        if (now - entry.FetchedAt > Lifetime || entry.Keys.IsFaulted)
        {
            entry = _sets[url] = (now, FetchAsync(url));
        }

        var keys = await entry.Keys.WaitAsync(cancellationToken);
        var key = Match(keys, keyId);
        if (key is null && now - entry.FetchedAt > MinRefetch)
        {
            entry = _sets[url] = (now, FetchAsync(url));
            key = Match(await entry.Keys.WaitAsync(cancellationToken), keyId);
        }

        return key;
    }

    public void Dispose() => _http.Dispose();

    private static JsonObject? Match(List<JsonObject> keys, string? keyId) =>
        keyId is null ? (keys.Count == 1 ? keys[0] : null) : keys.FirstOrDefault(k => k["kid"]?.GetValue<string>() == keyId);

    private async Task<List<JsonObject>> FetchAsync(string url)
    {
        var json = JsonNode.Parse(await _http.GetStringAsync(new Uri(url)))?.AsObject();
        return json?["keys"] is JsonArray keys ? [.. keys.OfType<JsonObject>()] : [];
    }
}
