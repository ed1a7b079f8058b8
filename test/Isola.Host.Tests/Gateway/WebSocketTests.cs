using System.Net;
using System.Net.WebSockets;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>WebSocket upgrades reach Deno.upgradeWebSocket through the gateway, both directions.</summary>
public sealed class WebSocketTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Deno_upgradeWebSocket_echoes_through_the_gateway_and_closes_cleanly()
    {
        await fixture.DeployFixtureAsync("ws-echo", "gateway/websocket-echo/index.ts");
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("echo.v1");
        socket.Options.SetRequestHeader("Authorization", "Bearer " + fixture.Host.AnonKey);
        var url = new UriBuilder(fixture.Host.Url) { Scheme = "ws", Path = "/functions/v1/ws-echo/room/7" }.Uri;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await socket.ConnectAsync(url, timeout.Token);
        Assert.Equal("echo.v1", socket.SubProtocol);

        Assert.Equal("open /ws-echo/room/7", await ReceiveTextAsync(socket, timeout.Token));
        foreach (var message in new[] { "hello", new string('x', 40_000) })
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, true, timeout.Token);
            Assert.Equal("echo: " + message, await ReceiveTextAsync(socket, timeout.Token));
        }

        await socket.SendAsync("close"u8.ToArray(), WebSocketMessageType.Text, true, timeout.Token);
        var buffer = new byte[64];
        var result = await socket.ReceiveAsync(buffer, timeout.Token);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal((WebSocketCloseStatus)4001, result.CloseStatus);
        Assert.Equal("asked to close", result.CloseStatusDescription);
    }

    [Fact]
    public async Task Browsers_which_cannot_set_headers_pass_the_key_in_the_query_and_no_key_is_refused()
    {
        await fixture.DeployFixtureAsync("ws-query", "gateway/websocket-echo/index.ts");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var withKey = new ClientWebSocket();
        withKey.Options.AddSubProtocol("echo.v1");
        await withKey.ConnectAsync(new UriBuilder(fixture.Host.Url) { Scheme = "ws", Path = "/v1/default/fn/ws-query", Query = "apikey=" + fixture.Host.AnonKey }.Uri, timeout.Token);
        Assert.Equal("open /v1/default/fn/ws-query", await ReceiveTextAsync(withKey, timeout.Token));

        using var without = new ClientWebSocket();
        without.Options.CollectHttpResponseDetails = true;
        await Assert.ThrowsAsync<WebSocketException>(() => without.ConnectAsync(new UriBuilder(fixture.Host.Url) { Scheme = "ws", Path = "/v1/default/fn/ws-query" }.Uri, timeout.Token));
        Assert.Equal(HttpStatusCode.Unauthorized, without.HttpStatusCode);
    }

    [Fact]
    public async Task A_plain_request_to_a_websocket_function_gets_its_own_answer()
    {
        await fixture.DeployFixtureAsync("ws-plain", "gateway/websocket-echo/index.ts");
        var response = await fixture.Host.Caller.GetAsync("/v1/default/fn/ws-plain");
        Assert.Equal((HttpStatusCode)426, response.StatusCode);
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
