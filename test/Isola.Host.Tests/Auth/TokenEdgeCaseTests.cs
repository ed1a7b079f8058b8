using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Auth;

/// <summary>
/// Tokens aimed at the options a JWT library exposes (decision 014): algorithm confusion, unusable
/// or oddly named JWKS keys, critical header extensions, encrypted and oversized tokens, and the
/// clock leeway on both sides. Every refusal is a 401 AUTH_REQUIRED that says why.
/// </summary>
public sealed class TokenEdgeCaseTests(AuthFixture fixture) : IClassFixture<AuthFixture>, IAsyncLifetime
{
    private const string App = "edges";
    private const string Audience = "edge-app";
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly byte[] _octSecret = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentQueue<string> _jwksRequests = new();
    private LoopbackServer _issuer = null!;
    private byte[] _appSecret = null!;

    public async Task InitializeAsync()
    {
        var parameters = _rsa.ExportParameters(false);
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(
                new JsonObject { ["kty"] = "RSA", ["kid"] = "rsa-1", ["n"] = Jwt.Base64Url(parameters.Modulus!), ["e"] = Jwt.Base64Url(parameters.Exponent!) },
                new JsonObject { ["kty"] = "RSA", ["kid"] = "empty", ["n"] = "", ["e"] = "" },
                new JsonObject { ["kty"] = "oct", ["kid"] = "oct-1", ["k"] = Jwt.Base64Url(_octSecret) },
                new JsonObject { ["kty"] = "RSA", ["kid"] = "enc-1", ["use"] = "enc", ["n"] = Jwt.Base64Url(parameters.Modulus!), ["e"] = Jwt.Base64Url(parameters.Exponent!) }),
        }.ToJsonString();
        _issuer = await LoopbackServer.StartAsync(context =>
        {
            _jwksRequests.Enqueue(context.Request.Path + context.Request.QueryString);
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(jwks);
        });

        await (await fixture.Host.Client.PostAsJsonAsync("/v1/apps", new { id = App })).EnsureSuccessOrNoteExistsAsync();
        await (await fixture.Host.Client.PutAsJsonAsync($"/v1/apps/{App}/auth", new { jwksUrl = _issuer.Url + "/jwks.json", audience = Audience })).ShouldSucceedAsync();
        await (await fixture.Host.DeployAsync(new { name = "me", auth = "user", code = TestEnvironment.Fixture("auth/whoami/index.ts") }, App)).EnsureSuccessOrNoteExistsAsync();
        _appSecret = (await fixture.Host.Server.Services.GetRequiredService<AppAuthStore>().GetAsync(App, CancellationToken.None)).Secret;
    }

    public Task DisposeAsync()
    {
        _issuer.Dispose();
        _rsa.Dispose();
        return Task.CompletedTask;
    }

    public static TheoryData<string, string> Refused() => new()
    {
        { "HS256 signed with the JWKS RSA key's public modulus", "signature does not match" },
        { "HS256 signed with the JWKS RSA key's JSON", "signature does not match" },
        { "RS256 naming a symmetric JWKS key, HMAC-signed with it", "signature does not match" },
        { "RS256 naming a JWKS key with empty modulus", "signature does not match" },
        { "RS256 naming an encryption-only JWKS key", "signature does not match" },
        { "kid with a path traversal", "signature does not match" },
        { "kid with a trailing NUL", "signature does not match" },
        { "HS512", "are not accepted" },
        { "RS512", "are not accepted" },
        { "crit header", "'crit'" },
        { "JWE (five parts)", "malformed token" },
        { "huge token", "malformed token" },
        { "exp as a string", "exp claim is not a number" },
        { "expired past the leeway", "the token expired at" },
        { "nbf past the leeway", "not valid before" },
        { "RS256 for another audience", "audience is not 'edge-app'" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task Each_odd_token_is_refused_with_its_reason(string kind, string reason)
    {
        using var client = fixture.ClientWith(TokenFor(kind));
        var error = await (await client.GetAsync($"/v1/{App}/fn/me")).ShouldFailAsync(401, "AUTH_REQUIRED");
        Assert.Contains(reason, error.GetProperty("message").GetString());
        // A key id is looked up in the fetched set, never put into a URL or a path.
        Assert.All(_jwksRequests, path => Assert.Equal("/jwks.json", path));
    }

    [Theory]
    [InlineData("expired inside the leeway")]
    [InlineData("nbf inside the leeway")]
    [InlineData("RS256 with the audience in a list")]
    public async Task Tokens_inside_the_clock_leeway_or_with_a_listed_audience_are_accepted(string kind)
    {
        using var client = fixture.ClientWith(TokenFor(kind));
        var seen = await (await client.GetAsync($"/v1/{App}/fn/me")).ShouldSucceedAsync();
        Assert.Equal("edge-user", seen.GetProperty("auth").GetProperty("userId").GetString());
    }

    private string TokenFor(string kind)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        JsonObject Claims(long? exp = null, long? nbf = null, JsonNode? aud = null) => new()
        {
            ["sub"] = "edge-user", ["aud"] = aud ?? Audience, ["exp"] = exp ?? now + 600, ["nbf"] = nbf ?? now - 5,
        };
        var modulus = _rsa.ExportParameters(false).Modulus!;
        byte[] Rs256(byte[] data) => _rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        Func<byte[], byte[]> Hmac(byte[] key) => data => HMACSHA256.HashData(key, data);
        return kind switch
        {
            "HS256 signed with the JWKS RSA key's public modulus" => TestTokens.Sign(new() { ["alg"] = "HS256", ["kid"] = "rsa-1" }, Claims(), Hmac(modulus)),
            "HS256 signed with the JWKS RSA key's JSON" => TestTokens.Sign(new() { ["alg"] = "HS256", ["kid"] = "rsa-1" }, Claims(),
                Hmac(Encoding.UTF8.GetBytes(new JsonObject { ["kty"] = "RSA", ["n"] = Jwt.Base64Url(modulus), ["e"] = "AQAB" }.ToJsonString()))),
            "RS256 naming a symmetric JWKS key, HMAC-signed with it" => TestTokens.Sign(new() { ["alg"] = "RS256", ["kid"] = "oct-1" }, Claims(), Hmac(_octSecret)),
            "RS256 naming a JWKS key with empty modulus" => TestTokens.Sign(new() { ["alg"] = "RS256", ["kid"] = "empty" }, Claims(), Rs256),
            "RS256 naming an encryption-only JWKS key" => TestTokens.Sign(new() { ["alg"] = "RS256", ["kid"] = "enc-1" }, Claims(), Rs256),
            "kid with a path traversal" => TestTokens.Sign(new() { ["alg"] = "RS256", ["kid"] = "../../jwks.json/../rsa-1" }, Claims(), Rs256),
            "kid with a trailing NUL" => TestTokens.Sign(new() { ["alg"] = "RS256", ["kid"] = "rsa-1\0" }, Claims(), Rs256),
            "HS512" => TestTokens.Sign(new() { ["alg"] = "HS512" }, Claims(), data => HMACSHA512.HashData(_appSecret, data)),
            "RS512" => TestTokens.Sign(new() { ["alg"] = "RS512", ["kid"] = "rsa-1" }, Claims(), data => _rsa.SignData(data, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1)),
            "crit header" => TestTokens.Sign(new() { ["alg"] = "HS256", ["crit"] = new JsonArray("exp"), ["exp"] = now + 600 }, Claims(), Hmac(_appSecret)),
            "JWE (five parts)" => Jwt.Base64Url("""{"alg":"dir","enc":"A256GCM"}"""u8.ToArray()) + ".." + Jwt.Base64Url(RandomNumberGenerator.GetBytes(12)) + "." +
                Jwt.Base64Url(RandomNumberGenerator.GetBytes(64)) + "." + Jwt.Base64Url(RandomNumberGenerator.GetBytes(16)),
            "huge token" => TestTokens.Sign(new() { ["alg"] = "HS256" }, WithPadding(Claims(), 20_000), Hmac(_appSecret)),
            "exp as a string" => TestTokens.Sign(new() { ["alg"] = "HS256" }, new JsonObject { ["sub"] = "edge-user", ["aud"] = Audience, ["exp"] = "tomorrow" }, Hmac(_appSecret)),
            "expired past the leeway" => TestTokens.Sign(new() { ["alg"] = "HS256" }, Claims(exp: now - 120), Hmac(_appSecret)),
            "nbf past the leeway" => TestTokens.Sign(new() { ["alg"] = "HS256" }, Claims(nbf: now + 120), Hmac(_appSecret)),
            "RS256 for another audience" => TestTokens.Sign(new() { ["alg"] = "RS256", ["kid"] = "rsa-1" }, Claims(aud: "someone-else"), Rs256),
            // The leeway is 30 s; 10 s either side of it is well inside, whatever the test machine's pace.
            "expired inside the leeway" => TestTokens.Sign(new() { ["alg"] = "HS256" }, Claims(exp: now - 10), Hmac(_appSecret)),
            "nbf inside the leeway" => TestTokens.Sign(new() { ["alg"] = "HS256" }, Claims(nbf: now + 10), Hmac(_appSecret)),
            "RS256 with the audience in a list" => TestTokens.Sign(new() { ["alg"] = "RS256", ["kid"] = "rsa-1" }, Claims(aud: new JsonArray("other", Audience)), Rs256),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    private static JsonObject WithPadding(JsonObject claims, int bytes)
    {
        claims["padding"] = new string('x', bytes);
        return claims;
    }
}
