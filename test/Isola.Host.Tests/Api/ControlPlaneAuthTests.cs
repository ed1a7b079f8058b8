using System.Net.Http.Headers;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Api;

/// <summary>Every control endpoint needs the bearer key: none → 401 AUTH_REQUIRED, wrong → 401.</summary>
public sealed class ControlPlaneAuthTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    public static TheoryData<string, string> ControlEndpoints() => new()
    {
        { "GET", "/v1/apps" },
        { "POST", "/v1/apps" },
        { "GET", "/v1/default/functions" },
        { "POST", "/v1/default/functions" },
        { "GET", "/v1/default/functions/f" },
        { "GET", "/v1/default/functions/f/config" },
        { "PUT", "/v1/default/functions/f" },
        { "DELETE", "/v1/default/functions/f" },
        { "GET", "/v1/default/functions/f/versions" },
        { "POST", "/v1/default/functions/f/rollback" },
        { "POST", "/functions/deploy" },
        { "GET", "/functions/list" },
        { "GET", "/functions/stats" },
        { "GET", "/functions/f" },
        { "GET", "/functions/f/config" },
        { "PUT", "/functions/f" },
        { "DELETE", "/functions/f" },
    };

    [Theory]
    [MemberData(nameof(ControlEndpoints))]
    public async Task Without_a_key_is_401_AUTH_REQUIRED(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}") };
        var error = await (await fixture.Host.Anonymous.SendAsync(request)).ShouldFailAsync(401, "AUTH_REQUIRED");
        Assert.Contains("Authorization: Bearer", error.GetProperty("message").GetString());
    }

    [Theory]
    [MemberData(nameof(ControlEndpoints))]
    public async Task With_a_wrong_key_is_401(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("{}") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "isola_sk_not-a-real-key");
        var error = await (await fixture.Host.Anonymous.SendAsync(request)).ShouldFailAsync(401, "AUTH_REQUIRED");
        Assert.Contains("not valid", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_malformed_authorization_header_is_401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/apps");
        request.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz");
        await (await fixture.Host.Anonymous.SendAsync(request)).ShouldFailAsync(401, "AUTH_REQUIRED");
    }

    [Fact]
    public async Task Unknown_routes_get_the_error_contract_too()
    {
        await (await fixture.Host.Client.GetAsync("/v2/nothing/here")).ShouldFailAsync(404, "NOT_FOUND");
    }
}
