using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Isola.Bench.JwtVerify;

/// <summary>
/// The hand-written verifier the host used before decision 014, kept only as this benchmark's baseline.
/// The small part of JWT (RFC 7519) Isola needs: HS256 signing and verification with an app's secret,
/// and RS256 / ES256 verification against JWKS keys. Anything else, <c>alg: none</c> included, is refused.
/// </summary>
internal static class HandWrittenJwt
{
    /// <summary>Clock skew tolerated on <c>exp</c> and <c>nbf</c>.</summary>
    public static readonly TimeSpan Leeway = TimeSpan.FromSeconds(30);

    public static string SignHs256(JsonObject claims, byte[] secret)
    {
        var header = Base64Url(Encoding.UTF8.GetBytes("""{"alg":"HS256","typ":"JWT"}"""));
        var payload = Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var signingInput = header + "." + payload;
        return signingInput + "." + Base64Url(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));
    }

    /// <summary>A parsed, not yet verified token.</summary>
    public sealed record Token(string Algorithm, string? KeyId, JsonObject Claims, byte[] SigningInput, byte[] Signature);

    /// <summary>Splits and decodes; throws <see cref="HandWrittenJwtException"/> on anything malformed.</summary>
    public static Token Parse(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 && p != parts[2]))
        {
            throw new HandWrittenJwtException("malformed token: expected three dot-separated parts");
        }

        try
        {
            var header = JsonNode.Parse(FromBase64Url(parts[0]))?.AsObject() ?? throw new HandWrittenJwtException("malformed token header");
            var claims = JsonNode.Parse(FromBase64Url(parts[1]))?.AsObject() ?? throw new HandWrittenJwtException("malformed token claims");
            var algorithm = header["alg"]?.GetValue<string>() ?? throw new HandWrittenJwtException("token header has no alg");
            return new Token(algorithm, header["kid"]?.GetValue<string>(), claims, Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), FromBase64Url(parts[2]));
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            throw new HandWrittenJwtException("malformed token: " + ex.Message);
        }
    }

    public static bool VerifyHs256(Token token, byte[] secret) =>
        token.Algorithm == "HS256" &&
        CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(secret, token.SigningInput), token.Signature);

    /// <summary>Verifies RS256 or ES256 with a JWK (<c>kty</c> RSA or EC P-256).</summary>
    public static bool VerifyWithJwk(Token token, JsonObject jwk)
    {
        try
        {
            switch (token.Algorithm, jwk["kty"]?.GetValue<string>())
            {
                case ("RS256", "RSA"):
                    using (var rsa = RSA.Create(new RSAParameters
                    {
                        Modulus = FromBase64Url(jwk["n"]!.GetValue<string>()),
                        Exponent = FromBase64Url(jwk["e"]!.GetValue<string>()),
                    }))
                    {
                        return rsa.VerifyData(token.SigningInput, token.Signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
                    }

                case ("ES256", "EC") when jwk["crv"]?.GetValue<string>() == "P-256":
                    using (var ecdsa = ECDsa.Create(new ECParameters
                    {
                        Curve = ECCurve.NamedCurves.nistP256,
                        Q = new ECPoint { X = FromBase64Url(jwk["x"]!.GetValue<string>()), Y = FromBase64Url(jwk["y"]!.GetValue<string>()) },
                    }))
                    {
                        return ecdsa.VerifyData(token.SigningInput, token.Signature, HashAlgorithmName.SHA256);
                    }

                default:
                    return false;
            }
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException or NullReferenceException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Checks <c>exp</c>, <c>nbf</c> and, when <paramref name="audience"/> is set, <c>aud</c>; throws with the reason.</summary>
    public static void ValidateClaims(JsonObject claims, DateTimeOffset now, string? audience)
    {
        if (ReadTime(claims, "exp") is { } expires && now - Leeway >= expires)
        {
            throw new HandWrittenJwtException("the token expired at " + expires.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (ReadTime(claims, "nbf") is { } notBefore && now + Leeway < notBefore)
        {
            throw new HandWrittenJwtException("the token is not valid before " + notBefore.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        }

        if (audience is not null)
        {
            var audiences = claims["aud"] switch
            {
                JsonArray list => list.Select(a => a?.GetValue<string>()).ToList(),
                JsonValue single => [single.GetValue<string>()],
                _ => [],
            };
            if (!audiences.Contains(audience))
            {
                throw new HandWrittenJwtException($"the token's audience is not '{audience}'");
            }
        }
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += (padded.Length % 4) switch { 2 => "==", 3 => "=", 0 => "", _ => throw new FormatException("bad base64url length") };
        return Convert.FromBase64String(padded);
    }

    private static DateTimeOffset? ReadTime(JsonObject claims, string name)
    {
        if (claims[name] is not JsonValue value)
        {
            return null;
        }

        try
        {
            return DateTimeOffset.FromUnixTimeSeconds(value.GetValue<long>());
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or ArgumentOutOfRangeException)
        {
            throw new HandWrittenJwtException($"the token's {name} claim is not a number of seconds");
        }
    }
}
