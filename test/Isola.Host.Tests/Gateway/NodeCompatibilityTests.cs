using System.Net.WebSockets;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>Published node examples that met the sandbox: a node server upgrading WebSockets itself, frameworks reading os facts.</summary>
public sealed class NodeCompatibilityTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task A_node_server_that_upgrades_websockets_with_npm_ws_echoes_through_the_gateway()
    {
        await fixture.DeployFixtureAsync("node-ws", "sandbox/node-ws-upgrade/index.ts");
        Assert.StartsWith("plain /", await (await fixture.Host.Caller.GetAsync("/functions/v1/node-ws/page")).Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("Authorization", "Bearer " + fixture.Host.AnonKey);
        var url = new UriBuilder(fixture.Host.Url) { Scheme = "ws", Path = "/functions/v1/node-ws/chat" }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await socket.ConnectAsync(url, timeout.Token);

        var greeting = await ReceiveTextAsync(socket, timeout.Token);
        Assert.StartsWith("open /", greeting, StringComparison.Ordinal);
        Assert.Contains($"host={fixture.Host.Url.Authority}", greeting, StringComparison.Ordinal); // the caller's Host, not the relay's
        await socket.SendAsync("hello"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
        Assert.Equal("echo: hello", await ReceiveTextAsync(socket, timeout.Token));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
    }

    [Fact]
    public async Task Os_facts_frameworks_read_at_start_are_answered_and_host_facts_are_harmless()
    {
        await fixture.DeployFixtureAsync("os-info", "sandbox/os-info/index.ts");
        var facts = await (await fixture.Host.Caller.GetAsync("/v1/default/fn/os-info")).ShouldSucceedAsync();
        Assert.Equal(Environment.MachineName, facts.GetProperty("atStart").GetString(), ignoreCase: true);
        foreach (var name in new[] { "hostname", "release", "uptime", "cpus", "totalmem", "userInfo", "homedir", "DenoHostname" })
        {
            Assert.False(facts.GetProperty(name).ToString().StartsWith("ERROR", StringComparison.Ordinal), $"{name}: {facts}");
        }

        Assert.Equal("[0,0,0]", facts.GetProperty("loadavg").GetRawText());
        Assert.Equal("[0,0,0]", facts.GetProperty("DenoLoadavg").GetRawText());
        Assert.Equal("{}", facts.GetProperty("networkInterfaces").GetRawText());
        Assert.Equal("[]", facts.GetProperty("DenoNetworkInterfaces").GetRawText());
    }

    [Fact]
    public async Task Fastify_with_its_logger_loads_and_answers()
    {
        await fixture.DeployFixtureAsync("fastify", "sandbox/fastify/index.ts");
        var answer = await (await fixture.Host.Caller.GetAsync("/functions/v1/fastify/hello")).ShouldSucceedAsync();
        Assert.Equal("fastify", answer.GetProperty("framework").GetString());
    }

    private static async Task<string> ReceiveTextAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var buffer = new byte[8192];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cancellationToken);
            text.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
        }
        while (!result.EndOfMessage);
        return text.ToString();
    }
}
