using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Isola.Host.Auth;
using Microsoft.IdentityModel.Tokens;

namespace Isola.Bench.JwtVerify;

/// <summary>
/// One token verified per operation, as the gateway does per request: parse, check the signature,
/// then exp, nbf and aud. Keys are set up once, as the host caches them (app secret, JWKS keys).
/// </summary>
[MemoryDiagnoser]
public class VerifyBenchmarks
{
    private const string Audience = "bench-app";
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ECDsa _ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private string _hs256 = "";
    private string _rs256 = "";
    private string _es256 = "";
    private JsonObject _rsaJwkJson = null!;
    private JsonObject _ecJwkJson = null!;
    private JsonWebKey _rsaJwk = null!;
    private JsonWebKey _ecJwk = null!;
    private HandWrittenJwt.Token? _parsedByHand;
    private Jwt.Token? _parsedByLibrary;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new JsonObject
        {
            ["sub"] = "user-42", ["role"] = "authenticated", ["aud"] = Audience, ["email"] = "ada@example.com",
            ["iat"] = now, ["nbf"] = now - 10, ["exp"] = now + 3600, ["roles"] = new JsonArray("editor", "admin"),
        };
        _hs256 = Jwt.SignHs256(claims, _secret);
        _rs256 = Sign("RS256", "rsa-1", claims, data => _rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        _es256 = Sign("ES256", "ec-1", claims, data => _ec.SignData(data, HashAlgorithmName.SHA256));
        var rsa = _rsa.ExportParameters(false);
        var ec = _ec.ExportParameters(false);
        _rsaJwkJson = new JsonObject { ["kty"] = "RSA", ["kid"] = "rsa-1", ["n"] = Jwt.Base64Url(rsa.Modulus!), ["e"] = Jwt.Base64Url(rsa.Exponent!) };
        _ecJwkJson = new JsonObject { ["kty"] = "EC", ["kid"] = "ec-1", ["crv"] = "P-256", ["x"] = Jwt.Base64Url(ec.Q.X!), ["y"] = Jwt.Base64Url(ec.Q.Y!) };
        var set = new JsonWebKeySet(new JsonObject { ["keys"] = new JsonArray(_rsaJwkJson.DeepClone(), _ecJwkJson.DeepClone()) }.ToJsonString());
        _rsaJwk = set.Keys.Single(k => k.Kid == "rsa-1");
        _ecJwk = set.Keys.Single(k => k.Kid == "ec-1");

        // Both verifiers must accept all three tokens, or the figures compare nothing.
        HandWrittenHs256();
        HandWrittenRs256();
        HandWrittenEs256();
        LibraryHs256().GetAwaiter().GetResult();
        LibraryRs256().GetAwaiter().GetResult();
        LibraryEs256().GetAwaiter().GetResult();
    }

    /// <summary>The HS256 token, for the interleaved runner's parse-only pair.</summary>
    public string Hs256Token => _hs256;

    /// <summary>Signature and claims of an already parsed HS256 token (the interleaved runner's check-only pair).</summary>
    public void HandWrittenHs256Check()
    {
        _parsedByHand ??= HandWrittenJwt.Parse(_hs256);
        if (!HandWrittenJwt.VerifyHs256(_parsedByHand, _secret))
        {
            throw new InvalidOperationException("bad signature");
        }

        HandWrittenJwt.ValidateClaims(_parsedByHand.Claims, DateTimeOffset.UtcNow, Audience);
    }

    /// <summary>The library's half of the check-only pair.</summary>
    public Task LibraryHs256Check()
    {
        _parsedByLibrary ??= Jwt.Parse(_hs256);
        return Jwt.VerifyAsync(_parsedByLibrary, Jwt.SecretKey(_secret), Audience, TimeProvider.System);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _rsa.Dispose();
        _ec.Dispose();
    }

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("HS256")]
    public JsonObject HandWrittenHs256()
    {
        var token = HandWrittenJwt.Parse(_hs256);
        if (!HandWrittenJwt.VerifyHs256(token, _secret))
        {
            throw new InvalidOperationException("bad signature");
        }

        HandWrittenJwt.ValidateClaims(token.Claims, DateTimeOffset.UtcNow, Audience);
        return token.Claims;
    }

    [Benchmark]
    [BenchmarkCategory("HS256")]
    public async Task<JsonObject> LibraryHs256()
    {
        var token = Jwt.Parse(_hs256);
        await Jwt.VerifyAsync(token, Jwt.SecretKey(_secret), Audience, TimeProvider.System);
        return token.Claims;
    }

    [Benchmark]
    [BenchmarkCategory("RS256")]
    public JsonObject HandWrittenRs256() => HandWrittenWithJwk(_rs256, _rsaJwkJson);

    [Benchmark]
    [BenchmarkCategory("RS256")]
    public Task<JsonObject> LibraryRs256() => LibraryWithJwk(_rs256, _rsaJwk);

    [Benchmark]
    [BenchmarkCategory("ES256")]
    public JsonObject HandWrittenEs256() => HandWrittenWithJwk(_es256, _ecJwkJson);

    [Benchmark]
    [BenchmarkCategory("ES256")]
    public Task<JsonObject> LibraryEs256() => LibraryWithJwk(_es256, _ecJwk);

    private static JsonObject HandWrittenWithJwk(string raw, JsonObject jwk)
    {
        var token = HandWrittenJwt.Parse(raw);
        if (!HandWrittenJwt.VerifyWithJwk(token, jwk))
        {
            throw new InvalidOperationException("bad signature");
        }

        HandWrittenJwt.ValidateClaims(token.Claims, DateTimeOffset.UtcNow, Audience);
        return token.Claims;
    }

    private static async Task<JsonObject> LibraryWithJwk(string raw, JsonWebKey key)
    {
        var token = Jwt.Parse(raw);
        await Jwt.VerifyAsync(token, key, Audience, TimeProvider.System);
        return token.Claims;
    }

    private static string Sign(string alg, string kid, JsonObject claims, Func<byte[], byte[]> sign)
    {
        var input = Jwt.Base64Url(Encoding.UTF8.GetBytes(new JsonObject { ["alg"] = alg, ["kid"] = kid, ["typ"] = "JWT" }.ToJsonString())) + "." +
            Jwt.Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return input + "." + Jwt.Base64Url(sign(Encoding.ASCII.GetBytes(input)));
    }
}
