using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Isola.Host.Tests.Auth;

/// <summary>The verifier and the key-set cache on their own, with a clock the test moves.</summary>
public sealed class JwtTests
{
    private static readonly DateTimeOffset Issued = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    [Theory]
    [InlineData(29, true)]
    [InlineData(31, false)]
    public async Task Expiry_is_held_to_a_30_second_leeway(int secondsAfterExpiry, bool accepted)
    {
        var token = Jwt.Parse(Jwt.SignHs256(new JsonObject { ["sub"] = "u", ["exp"] = Issued.ToUnixTimeSeconds() }, _secret));
        var clock = new ManualClock(Issued.AddSeconds(secondsAfterExpiry));
        var verify = Jwt.VerifyAsync(token, Jwt.SecretKey(_secret), audience: null, clock);
        if (accepted)
        {
            await verify;
        }
        else
        {
            var error = await Assert.ThrowsAsync<JwtException>(() => verify);
            Assert.Equal("the token expired at " + Issued.ToString("O", System.Globalization.CultureInfo.InvariantCulture), error.Message);
        }
    }

    [Theory]
    [InlineData(29, true)]
    [InlineData(31, false)]
    public async Task Not_before_is_held_to_a_30_second_leeway(int secondsEarly, bool accepted)
    {
        var token = Jwt.Parse(Jwt.SignHs256(new JsonObject { ["sub"] = "u", ["nbf"] = Issued.ToUnixTimeSeconds() }, _secret));
        var verify = Jwt.VerifyAsync(token, Jwt.SecretKey(_secret), audience: null, new ManualClock(Issued.AddSeconds(-secondsEarly)));
        if (accepted)
        {
            await verify;
        }
        else
        {
            var error = await Assert.ThrowsAsync<JwtException>(() => verify);
            Assert.StartsWith("the token is not valid before ", error.Message);
        }
    }

    [Fact]
    public async Task A_token_is_checked_against_the_key_it_is_given_and_no_other()
    {
        var token = Jwt.Parse(Jwt.SignHs256(new JsonObject { ["sub"] = "u" }, _secret));
        await Jwt.VerifyAsync(token, Jwt.SecretKey(_secret), null, TimeProvider.System);
        var error = await Assert.ThrowsAsync<JwtException>(() => Jwt.VerifyAsync(token, Jwt.SecretKey(RandomNumberGenerator.GetBytes(32)), null, TimeProvider.System));
        Assert.Equal("the token's signature does not match this app's keys", error.Message);
    }

    [Fact]
    public async Task A_rotated_key_set_is_fetched_again_at_most_once_a_minute_when_a_token_names_an_unknown_key()
    {
        using var first = RSA.Create(2048);
        using var second = RSA.Create(2048);
        var served = KeySet(("k1", first));
        var fetches = 0;
        using var issuer = await LoopbackServer.StartAsync(context =>
        {
            Interlocked.Increment(ref fetches);
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(served);
        });
        var clock = new ManualClock(Issued);
        using var cache = new JwksCache(clock);
        var url = issuer.Url + "/jwks.json";

        Assert.Equal("k1", (await cache.FindKeyAsync(url, "k1", CancellationToken.None))?.Kid);
        served = KeySet(("k2", second)); // the issuer rotates
        Assert.Null(await cache.FindKeyAsync(url, "k2", CancellationToken.None)); // too soon to fetch again
        Assert.Equal(1, fetches);

        clock.Advance(TimeSpan.FromSeconds(61));
        var rotated = await cache.FindKeyAsync(url, "k2", CancellationToken.None);
        Assert.Equal("k2", rotated?.Kid);
        Assert.Equal(2, fetches);
        Assert.Null(await cache.FindKeyAsync(url, "k1", CancellationToken.None)); // the old key is gone and no refetch yet
        Assert.Equal(2, fetches);

        var token = Jwt.Parse(TestTokens.Sign(new JsonObject { ["alg"] = "RS256", ["kid"] = "k2" },
            new JsonObject { ["sub"] = "u", ["exp"] = Issued.AddMinutes(5).ToUnixTimeSeconds() },
            data => second.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)));
        await Jwt.VerifyAsync(token, rotated!, null, clock);
    }

    private static string KeySet(params (string Kid, RSA Key)[] keys) => new JsonObject
    {
        ["keys"] = new JsonArray([.. keys.Select(k =>
        {
            var p = k.Key.ExportParameters(false);
            return (JsonNode)new JsonObject { ["kty"] = "RSA", ["kid"] = k.Kid, ["n"] = Jwt.Base64Url(p.Modulus!), ["e"] = Jwt.Base64Url(p.Exponent!) };
        })]),
    }.ToJsonString();
}
