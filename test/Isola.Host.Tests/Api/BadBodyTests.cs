using System.Net.Http.Headers;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Api;

/// <summary>Bodies that cannot be read (bad UTF-8, lone surrogates, a multipart cut short) are the client's fault: 400, never 500.</summary>
public sealed class BadBodyTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private TestHost Host => fixture.Host;

    public static TheoryData<string, string> BadStrings() => new()
    {
        // endpoint                  body with a string that is not text ('\xFF' is the raw byte 0xFF)
        { "/v1/default/functions", "{\"name\":\"f\xFF\",\"code\":\"export default () => new Response('ok');\"}" },
        { "/v1/default/functions", "{\"name\":\"f\",\"code\":\"export default () => new Response('\\ud800');\"}" },
        { "/v1/apps", "{\"id\":\"a\xFF\"}" },
        { "/v1/apps", "{\"id\":\"\\udc00a\"}" },
        { "/v1/default/auth/token", "{\"sub\":\"u\xFF\"}" },
        { "/v1/default/auth/token", "{\"sub\":\"u\",\"role\":\"\\ud83d\"}" },
        { "/v1/keys", "{\"name\":\"k\xFF\",\"permissions\":[\"read\"]}" },
        { "/v1/default/functions", "{\"na\xFFme\":\"f\",\"code\":\"x\"}" },
    };

    [Theory]
    [MemberData(nameof(BadStrings))]
    public async Task A_JSON_string_that_is_not_valid_UTF8_or_UTF16_is_400(string path, string body)
    {
        // Latin-1 maps each char to one byte, so '\xFF' goes on the wire as the invalid UTF-8 byte 0xFF.
        var content = new ByteArrayContent(Encoding.Latin1.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var error = await (await Host.Client.PostAsync(path, content)).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Contains("UTF", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_multipart_deploy_cut_short_is_400()
    {
        using var form = new MultipartFormDataContent("cut-short-boundary")
        {
            { new StringContent("""{"name":"cut-short"}"""), "metadata" },
            { new ByteArrayContent(new byte[4096]), "bundle", "bundle.tar.gz" },
        };
        var whole = await form.ReadAsByteArrayAsync();
        // The body ends inside the bundle part: the closing boundary never comes.
        var cut = new ByteArrayContent(whole[..(whole.Length / 2)]);
        cut.Headers.ContentType = form.Headers.ContentType;

        var error = await (await Host.Client.PostAsync("/v1/default/functions", cut)).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Contains("multipart", error.GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await Host.Client.GetAsync("/v1/default/functions/cut-short")).StatusCode);
    }
}
