using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// A realtime client over a real <see cref="ClientWebSocket"/>: connects to <c>/v1/{app}/realtime</c>, reads the
/// <c>connected</c> frame, then sends and receives JSON frames one at a time. Every wait is bounded.
/// </summary>
internal sealed class RealtimeClient : IAsyncDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly ClientWebSocket _socket;

    private RealtimeClient(ClientWebSocket socket, string connectionId)
    {
        _socket = socket;
        ConnectionId = connectionId;
    }

    /// <summary>The id the host gave this connection (functions see it as <c>ctx.trigger.connectionId</c>).</summary>
    public string ConnectionId { get; }

    public WebSocketState State => _socket.State;

    /// <summary>Connects with the token in the <c>Authorization</c> header, or in <c>?access_token=</c> as a browser would.</summary>
    public static Task<RealtimeClient> ConnectAsync(Uri node, string token, bool tokenInQuery = false, string app = "default") =>
        tokenInQuery ? ConnectAsync(Url(node, app, "access_token=" + Uri.EscapeDataString(token)), null) : ConnectAsync(Url(node, app, null), token);

    /// <summary>Connects with credentials only in the query (<c>apikey=…&amp;access_token=…</c>), as a browser client sends them.</summary>
    public static Task<RealtimeClient> ConnectWithQueryAsync(Uri node, string query, string app = "default") => ConnectAsync(Url(node, app, query), null);

    private static async Task<RealtimeClient> ConnectAsync(Uri url, string? bearer)
    {
        var socket = new ClientWebSocket();
        try
        {
            if (bearer is not null)
            {
                socket.Options.SetRequestHeader("Authorization", "Bearer " + bearer);
            }

            using var timeout = new CancellationTokenSource(Wait);
            await socket.ConnectAsync(url, timeout.Token);
            var connected = await ReceiveFrameAsync(socket);
            Assert.Equal("connected", connected.GetProperty("type").GetString());
            return new RealtimeClient(socket, connected.GetProperty("connectionId").GetString()!);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The status the handshake was refused with (the test fails if it was accepted).</summary>
    public static async Task<HttpStatusCode> RefusedAsync(Uri node, string app, string? query, params (string Name, string Value)[] headers)
    {
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        foreach (var (name, value) in headers)
        {
            socket.Options.SetRequestHeader(name, value);
        }

        using var timeout = new CancellationTokenSource(Wait);
        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(Url(node, app, query), timeout.Token));
        return socket.HttpStatusCode;
    }

    public static Uri Url(Uri node, string app, string? query) =>
        new UriBuilder(node) { Scheme = "ws", Path = $"/v1/{app}/realtime", Query = query ?? "" }.Uri;

    public Task SendAsync(object message) => SendTextAsync(JsonSerializer.Serialize(message));

    public async Task SendTextAsync(string text)
    {
        using var timeout = new CancellationTokenSource(Wait);
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    /// <summary>The next frame, whatever it is; fails on a close.</summary>
    public Task<JsonElement> ReceiveAsync() => ReceiveFrameAsync(_socket);

    /// <summary>Sends a message with <paramref name="id"/> and returns the next frame, which must answer it.</summary>
    public async Task<JsonElement> AskAsync(string id, object message)
    {
        var fields = JsonSerializer.SerializeToNode(message)!.AsObject();
        fields["id"] = id;
        await SendTextAsync(fields.ToJsonString());
        var frame = await ReceiveAsync();
        Assert.True(frame.TryGetProperty("replyTo", out var replyTo) && replyTo.GetString() == id, $"expected the answer to '{id}', got {frame}");
        return frame;
    }

    /// <summary>Reads (and drops) frames until the host's close frame; returns its status and reason.</summary>
    public async Task<(WebSocketCloseStatus? Status, string? Reason, int FramesBefore)> ReceiveCloseAsync()
    {
        using var timeout = new CancellationTokenSource(Wait);
        var buffer = new byte[64 * 1024];
        var frames = 0;
        while (true)
        {
            var result = await _socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                // Complete the handshake, as a browser does, so the host need not wait for it.
                if (_socket.State == WebSocketState.CloseReceived)
                {
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
                }

                return (result.CloseStatus, result.CloseStatusDescription, frames);
            }

            frames += result.EndOfMessage ? 1 : 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
                // The host already went away; nothing to close.
            }
        }

        _socket.Dispose();
    }

    private static async Task<JsonElement> ReceiveFrameAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(Wait);
        using var text = new MemoryStream();
        var buffer = new byte[16 * 1024];
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new Xunit.Sdk.XunitException($"expected a frame, the host closed with {(int?)result.CloseStatus}: {result.CloseStatusDescription}");
            }

            text.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonDocument.Parse(text.ToArray()).RootElement.Clone();
    }
}
