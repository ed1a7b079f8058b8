using System.Net.WebSockets;

namespace Isola.Host.Gateway;

/// <summary>
/// Carries a WebSocket between a client and a function's worker: the worker's handshake happens first
/// (so the function may refuse, or pick a subprotocol), then the client's, then messages flow both
/// ways until either side closes.
/// </summary>
internal static class WebSocketRelay
{
    private static readonly TimeSpan CloseHandshakeWait = TimeSpan.FromSeconds(5);

    public static async Task<int> RelayAsync(HttpContext http, HttpMessageInvoker worker, string functionPath,
        IEnumerable<KeyValuePair<string, string>> headers, CancellationToken connectTimeout)
    {
        using var upstream = new ClientWebSocket();
        upstream.Options.CollectHttpResponseDetails = true;
        foreach (var protocol in http.WebSockets.WebSocketRequestedProtocols)
        {
            upstream.Options.AddSubProtocol(protocol);
        }

        foreach (var (name, value) in headers)
        {
            upstream.Options.SetRequestHeader(name, value);
        }

        try
        {
            await upstream.ConnectAsync(new Uri("ws://worker" + functionPath), worker, connectTimeout);
        }
        catch (WebSocketException) when (upstream.HttpStatusCode != 0 && upstream.HttpStatusCode != System.Net.HttpStatusCode.SwitchingProtocols)
        {
            // The function answered the upgrade with a plain response: pass its status on.
            http.Response.StatusCode = (int)upstream.HttpStatusCode;
            return http.Response.StatusCode;
        }

        using var downstream = await http.WebSockets.AcceptWebSocketAsync(upstream.SubProtocol);
        using var done = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var toWorker = PumpAsync(downstream, upstream, done.Token);
        var toClient = PumpAsync(upstream, downstream, done.Token);
        var first = await Task.WhenAny(toWorker, toClient);
        // One side sent Close (forwarded already): give the other side time to answer it, since
        // cancelling a pending receive aborts the socket and would cut the close handshake short.
        var other = first == toWorker ? toClient : toWorker;
        await Task.WhenAny(other, Task.Delay(CloseHandshakeWait, CancellationToken.None));
        await done.CancelAsync();
        await Task.WhenAll(Quietly(toWorker), Quietly(toClient));
        return StatusCodes.Status101SwitchingProtocols;
    }

    private static async Task PumpAsync(WebSocket from, WebSocket to, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (!cancellationToken.IsCancellationRequested)
        {
            var result = await from.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                if (to.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await to.CloseOutputAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, result.CloseStatusDescription, CancellationToken.None);
                }

                return;
            }

            await to.SendAsync(buffer.AsMemory(0, result.Count), result.MessageType, result.EndOfMessage, cancellationToken);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // One side vanished; the other is closed by the relay ending.
        }
    }
}
