using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Api;

/// <summary>The <c>endpoint</c> link of a function comes from ISOLA_PUBLIC_URL or the bound address, never the caller's Host header.</summary>
public sealed class EndpointLinkTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private const string Code = "export default () => new Response('ok');";

    [Fact]
    public async Task A_forged_Host_header_does_not_change_the_endpoint_link()
    {
        var host = fixture.Host;
        using var deploy = new HttpRequestMessage(HttpMethod.Post, "/v1/default/functions") { Content = JsonContent.Create(new { name = "linked-host", code = Code }) };
        deploy.Headers.Host = "attacker.example:4443";
        var created = await (await host.Client.SendAsync(deploy)).ShouldSucceedAsync(201);
        var bound = host.Url.ToString().TrimEnd('/');
        Assert.Equal($"{bound}/v1/default/fn/linked-host", created.GetProperty("endpoint").GetString());

        using var get = new HttpRequestMessage(HttpMethod.Get, "/v1/default/functions");
        get.Headers.Host = "attacker.example";
        var list = await (await host.Client.SendAsync(get)).ShouldSucceedAsync();
        Assert.All(list.GetProperty("functions").EnumerateArray(), f => Assert.DoesNotContain("attacker", f.GetProperty("endpoint").GetString() ?? ""));
    }

    [Fact]
    public async Task ISOLA_PUBLIC_URL_is_the_base_of_every_endpoint_link()
    {
        await using var host = await TestHost.StartAsync(options => options with { PublicUrl = new Uri("https://functions.example.com/") });
        using var deploy = new HttpRequestMessage(HttpMethod.Post, "/v1/default/functions") { Content = JsonContent.Create(new { name = "linked-public", code = Code }) };
        deploy.Headers.Host = "attacker.example";
        var created = await (await host.Client.SendAsync(deploy)).ShouldSucceedAsync(201);
        Assert.Equal("https://functions.example.com/v1/default/fn/linked-public", created.GetProperty("endpoint").GetString());

        var molnos = await (await host.Client.GetAsync("/functions/linked-public")).ShouldSucceedAsync();
        Assert.Equal("https://functions.example.com/v1/default/fn/linked-public", molnos.GetProperty("endpoint").GetString());
    }
}
