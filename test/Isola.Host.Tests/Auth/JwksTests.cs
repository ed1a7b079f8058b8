using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Isola.Host.Tests.Auth;

/// <summary>Tokens issued elsewhere: RS256 and ES256 verified against the app's JWKS URL (a real HTTP server here).</summary>
public sealed class JwksTests(AuthFixture fixture) : IClassFixture<AuthFixture>
{
    [Fact]
    public async Task RS256_and_ES256_tokens_from_the_JWKS_issuer_are_accepted_and_others_refused()
    {
        using var rsa = RSA.Create(2048);
        using var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var stranger = RSA.Create(2048);
        var rsaParameters = rsa.ExportParameters(false);
        var ecParameters = ec.ExportParameters(false);
        var jwks = new JsonObject
        {
            ["keys"] = new JsonArray(
                new JsonObject { ["kty"] = "RSA", ["kid"] = "rsa-1", ["n"] = Jwt.Base64Url(rsaParameters.Modulus!), ["e"] = Jwt.Base64Url(rsaParameters.Exponent!) },
                new JsonObject { ["kty"] = "EC", ["kid"] = "ec-1", ["crv"] = "P-256", ["x"] = Jwt.Base64Url(ecParameters.Q.X!), ["y"] = Jwt.Base64Url(ecParameters.Q.Y!) }),
        }.ToJsonString();
        using var issuer = await LoopbackServer.StartAsync(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(jwks);
        });

        await (await fixture.Host.Client.PostAsJsonAsync("/v1/apps", new { id = "external" })).EnsureSuccessOrNoteExistsAsync();
        await (await fixture.Host.Client.PutAsJsonAsync("/v1/apps/external/auth", new { jwksUrl = issuer.Url + "/jwks.json", audience = "external-app" })).ShouldSucceedAsync();
        await (await fixture.Host.DeployAsync(new { name = "me", auth = "user", code = TestEnvironment.Fixture("auth/whoami/index.ts") }, "external")).EnsureSuccessOrNoteExistsAsync();

        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var claims = new JsonObject { ["sub"] = "ext-user", ["aud"] = "external-app", ["exp"] = now + 600, ["email"] = "ext@example.com" };
        var rsaToken = Sign("RS256", "rsa-1", claims, data => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        var ecToken = Sign("ES256", "ec-1", claims, data => ec.SignData(data, HashAlgorithmName.SHA256));
        var forged = Sign("RS256", "rsa-1", claims, data => stranger.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        var unknownKid = Sign("RS256", "rsa-2", claims, data => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));

        foreach (var token in new[] { rsaToken, ecToken })
        {
            using var client = fixture.ClientWith(token);
            var seen = await (await client.GetAsync("/v1/external/fn/me")).ShouldSucceedAsync();
            Assert.Equal("ext-user", seen.GetProperty("auth").GetProperty("userId").GetString());
        }

        foreach (var token in new[] { forged, unknownKid })
        {
            using var client = fixture.ClientWith(token);
            await (await client.GetAsync("/v1/external/fn/me")).ShouldFailAsync(401, "AUTH_REQUIRED");
        }

        // Without a JWKS URL, RS256 tokens are refused outright.
        await (await fixture.Host.DeployAsync(new { name = "me", auth = "user", code = TestEnvironment.Fixture("auth/whoami/index.ts") })).EnsureSuccessOrNoteExistsAsync();
        using var elsewhere = fixture.ClientWith(rsaToken);
        var error = await (await elsewhere.GetAsync("/v1/default/fn/me")).ShouldFailAsync(401, "AUTH_REQUIRED");
        Assert.Contains("no JWKS URL", error.GetProperty("message").GetString());
    }

    private static string Sign(string alg, string kid, JsonObject claims, Func<byte[], byte[]> sign)
    {
        var input = Jwt.Base64Url(Encoding.UTF8.GetBytes(new JsonObject { ["alg"] = alg, ["kid"] = kid, ["typ"] = "JWT" }.ToJsonString())) + "." +
            Jwt.Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return input + "." + Jwt.Base64Url(sign(Encoding.ASCII.GetBytes(input)));
    }
}
