using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Isola.Host.Auth;

/// <summary>
/// The part of JWT (RFC 7519) Isola needs, on Microsoft.IdentityModel (decision 014): HS256 signing
/// and verification with an app's secret, RS256 / ES256 verification against JWKS keys. Anything
/// else (<c>alg: none</c>, JWE, unknown <c>crit</c> extensions) is refused with a reason.
/// </summary>
internal static class Jwt
{
    /// <summary>Clock skew tolerated on <c>exp</c> and <c>nbf</c>.</summary>
    public static readonly TimeSpan Leeway = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Longest token read, in characters. Kestrel already caps request headers at 32 KiB; this bounds the
    /// query-string path of WebSocket handshakes too, and keeps the library from base64-decoding more.
    /// </summary>
    public const int MaxLength = 16 * 1024;

    private static readonly JsonWebTokenHandler Handler = new() { MapInboundClaims = false, MaximumTokenSizeInBytes = MaxLength };

    // One key object per app secret (the AppAuth record keeps its array): the library caches its
    // signature providers per key, so a fresh key per request would rebuild HMAC state every time.
    private static readonly ConditionalWeakTable<byte[], SymmetricSecurityKey> SecretKeys = [];

    public static string SignHs256(JsonObject claims, byte[] secret) =>
        Handler.CreateToken(claims.ToJsonString(), new SigningCredentials(SecretKey(secret), SecurityAlgorithms.HmacSha256));

    /// <summary>The signing key for an app's HS256 secret.</summary>
    public static SymmetricSecurityKey SecretKey(byte[] secret) => SecretKeys.GetValue(secret, s => new SymmetricSecurityKey(s));

    /// <summary>A parsed, not yet verified token.</summary>
    public sealed record Token(JsonWebToken Parsed, JsonObject Claims)
    {
        public string Algorithm => Parsed.Alg;

        public string? KeyId => Parsed.Kid is { Length: > 0 } kid ? kid : null;
    }

    /// <summary>Splits and decodes; throws <see cref="JwtException"/> on anything malformed.</summary>
    public static Token Parse(string token)
    {
        if (token.Length > MaxLength)
        {
            throw new JwtException($"malformed token: longer than {MaxLength} characters");
        }

        // A JWE has five parts; Isola takes signed tokens only, as before the library.
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[0].Length == 0 || parts[1].Length == 0)
        {
            throw new JwtException("malformed token: expected three dot-separated parts");
        }

        JsonObject claims;
        try
        {
            claims = JsonNode.Parse(Base64UrlEncoder.DecodeBytes(parts[1]))?.AsObject() ?? throw new JwtException("malformed token claims");
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or ArgumentException)
        {
            throw new JwtException("malformed token: " + ex.Message);
        }

        foreach (var name in (ReadOnlySpan<string>)["exp", "nbf"])
        {
            if (claims[name] is { } value && (value is not JsonValue number || !number.TryGetValue<long>(out _) && !number.TryGetValue<double>(out _)))
            {
                throw new JwtException($"the token's {name} claim is not a number of seconds");
            }
        }

        JsonWebToken parsed;
        try
        {
            parsed = Handler.ReadJsonWebToken(token);
        }
        catch (Exception ex) when (ex is SecurityTokenMalformedException or ArgumentException)
        {
            throw new JwtException("malformed token: the header or claims are not base64url-encoded JSON objects");
        }

        if (string.IsNullOrEmpty(parsed.Alg))
        {
            throw new JwtException("token header has no alg");
        }

        // RFC 7515 4.1.11: a recipient must reject extensions it does not understand; Isola understands none.
        if (parsed.TryGetHeaderValue<object>("crit", out _))
        {
            throw new JwtException("tokens with critical header extensions ('crit') are not accepted");
        }

        return new Token(parsed, claims);
    }

    /// <summary>
    /// Checks the signature with <paramref name="key"/> (held to the token's own algorithm, which the
    /// caller has already limited to HS256, RS256 and ES256), then <c>exp</c>, <c>nbf</c> and, when <paramref name="audience"/> is
    /// set, <c>aud</c>; throws <see cref="JwtException"/> with the reason.
    /// </summary>
    public static async Task VerifyAsync(Token token, SecurityKey key, string? audience, TimeProvider time)
    {
        var parameters = new TokenValidationParameters
        {
            IssuerSigningKey = key,
            ValidAlgorithms = [token.Algorithm],
            // One key, chosen by the caller: it must be tried whether or not the token names a kid.
            TryAllIssuerSigningKeys = true,
            ValidateIssuer = false,
            ValidateAudience = audience is not null,
            ValidAudience = audience,
            ValidateLifetime = true,
            RequireExpirationTime = false,
            ClockSkew = Leeway,
            // The library reads exp and nbf; the clock is the host's (its own TimeProvider setting is not public in 8.x).
            LifetimeValidator = (notBefore, expires, _, _) => ValidateLifetime(notBefore, expires, time.GetUtcNow().UtcDateTime),
        };
        TokenValidationResult result;
        try
        {
            result = await Handler.ValidateTokenAsync(token.Parsed, parameters);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or NotSupportedException or System.Security.Cryptography.CryptographicException)
        {
            throw new JwtException("the token's signature does not match this app's keys");
        }

        if (!result.IsValid)
        {
            throw new JwtException(Reason(result.Exception, audience));
        }
    }

    public static string Base64Url(byte[] bytes) => Base64UrlEncoder.Encode(bytes);

    private static bool ValidateLifetime(DateTime? notBefore, DateTime? expires, DateTime now)
    {
        if (expires is { } expiry && expiry <= now - Leeway)
        {
            throw new SecurityTokenExpiredException { Expires = expiry };
        }

        if (notBefore is { } start && start > now + Leeway)
        {
            throw new SecurityTokenNotYetValidException { NotBefore = start };
        }

        return true;
    }

    private static string Reason(Exception? error, string? audience) => error switch
    {
        SecurityTokenExpiredException expired => "the token expired at " + Utc(expired.Expires),
        SecurityTokenNotYetValidException early => "the token is not valid before " + Utc(early.NotBefore),
        SecurityTokenInvalidAudienceException => $"the token's audience is not '{audience}'",
        SecurityTokenInvalidLifetimeException => "the token's nbf is after its exp",
        _ => "the token's signature does not match this app's keys",
    };

    private static string Utc(DateTime at) =>
        new DateTimeOffset(DateTime.SpecifyKind(at, DateTimeKind.Utc)).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
}
