using System.Collections.Concurrent;
using Microsoft.IdentityModel.Tokens;

namespace Isola.Host.Auth;

/// <summary>
/// Key sets of apps that accept tokens issued elsewhere: fetched from the JWKS URL, kept 10 minutes,
/// fetched again early (at most once a minute) when a token names a key id the set lacks (rotation).
/// </summary>
internal sealed class JwksCache(TimeProvider time) : IDisposable
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan MinRefetch = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (DateTimeOffset FetchedAt, Task<List<JsonWebKey>> Keys)> _sets = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    public async Task<JsonWebKey?> FindKeyAsync(string url, string? keyId, CancellationToken cancellationToken)
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

    // The key id is only ever compared, never used as a path or URL: a kid like "../x" matches nothing.
    private static JsonWebKey? Match(List<JsonWebKey> keys, string? keyId) =>
        keyId is null ? (keys.Count == 1 ? keys[0] : null) : keys.FirstOrDefault(k => string.Equals(k.Kid, keyId, StringComparison.Ordinal));

    private async Task<List<JsonWebKey>> FetchAsync(string url)
    {
        var set = new JsonWebKeySet(await _http.GetStringAsync(new Uri(url)));
        // Signing keys of the two families Isola verifies; symmetric ("oct") keys published in a JWKS are
        // never used, so an RS256 key id cannot be turned into an HMAC secret (algorithm confusion).
        return [.. set.Keys.Where(k => k.Kty is JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve && k.Use is null or "" or "sig")];
    }
}
