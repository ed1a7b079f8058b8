using System.Text;
using System.Text.Json.Nodes;
using Isola.Host.Auth;

namespace Isola.Host.Tests.Auth;

/// <summary>Compact JWS tokens built by hand, so a test controls every header field and the signing bytes.</summary>
internal static class TestTokens
{
    public static string Sign(JsonObject header, JsonObject claims, Func<byte[], byte[]> sign)
    {
        header["typ"] ??= "JWT";
        var input = Jwt.Base64Url(Encoding.UTF8.GetBytes(header.ToJsonString())) + "." + Jwt.Base64Url(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        return input + "." + Jwt.Base64Url(sign(Encoding.ASCII.GetBytes(input)));
    }
}
