using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Observability;

namespace Isola.Host.Realtime;

/// <summary>
/// One client's realtime WebSocket, held by the host (never by a worker, so it outlives redeploys). Reads
/// messages up to <see cref="RealtimeOptions.MaxMessageBytes"/> and hands them on; writes frames from a
/// queue bounded in bytes, so a client that does not read is closed with 1013 instead of buffered without
/// bound. Only the writer loop sends on the socket (a WebSocket allows one send at a time), close frames included.
/// </summary>
internal sealed partial class RealtimeConnection
{
    /// <summary>1013 Try Again Later (RFC 6455 registry): the client cannot keep up.</summary>
    public const WebSocketCloseStatus TooSlow = (WebSocketCloseStatus)1013;

    private readonly WebSocket _socket;
    private readonly RealtimeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<byte[]> _outbox = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _abort = new();
    private readonly SemaphoreSlim _turns;
    private readonly Lock _closeGate = new();
    private long _queuedBytes;
    private int _closing;
    private WebSocketCloseStatus _closeStatus;
    private string _closeReason = "";
    private ITimer? _closeTimer;
    private ITimer? _expiryTimer;
    private double _tokens;
    private long _tokensAt;

    public RealtimeConnection(string appId, CallerIdentifier.Result identity, WebSocket socket, RealtimeOptions options, TimeProvider time, ILogger logger)
    {
        AppId = appId;
        Identity = identity;
        _socket = socket;
        _options = options;
        _time = time;
        _logger = logger;
        _turns = new SemaphoreSlim(options.MaxConcurrentMessages);
        _tokens = options.MessageBurst;
        _tokensAt = time.GetTimestamp();
    }

    /// <summary>32 random hex characters: functions address the connection by it, so it cannot be guessed.</summary>
    public string Id { get; } = Guid.NewGuid().ToString("N");

    public string AppId { get; }

    /// <summary>Who connected, as identified at the handshake: each message runs as this caller.</summary>
    public CallerIdentifier.Result Identity { get; }

    /// <summary>Channels this connection is subscribed to; changed only by <see cref="RealtimeHub"/> under its lock.</summary>
    public HashSet<string> Channels { get; } = new(StringComparer.Ordinal);

    /// <summary>Its live queries, by subscription id (as JSON text); changed only by <see cref="LiveQueries.LiveQueryRegistry"/> under its lock.</summary>
    public Dictionary<string, LiveQueries.LiveQueryGroup> LiveQueries { get; } = new(StringComparer.Ordinal);

    public bool IsClosing => Volatile.Read(ref _closing) != 0;

    /// <summary>
    /// Queues a frame for the client; false when the connection is closing. A frame that would take the queue past
    /// <see cref="RealtimeOptions.SendQueueBytes"/> closes the connection with 1013 instead.
    /// </summary>
    public bool TryEnqueue(byte[] frame)
    {
        if (IsClosing)
        {
            return false;
        }

        if (Interlocked.Add(ref _queuedBytes, frame.Length) > _options.SendQueueBytes)
        {
            Interlocked.Add(ref _queuedBytes, -frame.Length);
            LogTooSlow(_logger, Id, _options.SendQueueBytes);
            Close(TooSlow, $"client too slow: over {_options.SendQueueBytes} bytes were waiting to be sent");
            return false;
        }

        return _outbox.Writer.TryWrite(frame);
    }

    /// <summary>
    /// Starts the close handshake with this status and reason (at most 123 bytes); frames still queued are dropped.
    /// The socket is dropped if the handshake has not completed within <see cref="RealtimeOptions.CloseTimeout"/>.
    /// </summary>
    public void Close(WebSocketCloseStatus status, string reason)
    {
        lock (_closeGate)
        {
            if (IsClosing)
            {
                return;
            }

            // Status and reason first: the writer reads them once it sees the flag.
            _closeStatus = status;
            _closeReason = reason;
            Volatile.Write(ref _closing, 1);
        }

        _outbox.Writer.TryComplete();
        _closeTimer = _time.CreateTimer(_ => Abort(), null, _options.CloseTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Takes one message from the rate budget (<see cref="RealtimeOptions.MessagesPerSecond"/>, burst <see cref="RealtimeOptions.MessageBurst"/>).</summary>
    public bool TryTakeMessageToken()
    {
        // Only the read loop calls this: no lock.
        var now = _time.GetTimestamp();
        _tokens = Math.Min(_options.MessageBurst, _tokens + (_time.GetElapsedTime(_tokensAt, now).TotalSeconds * _options.MessagesPerSecond));
        _tokensAt = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }

    /// <summary>Waits until fewer than <see cref="RealtimeOptions.MaxConcurrentMessages"/> of this connection's messages are running.</summary>
    public Task WaitForTurnAsync(CancellationToken cancellationToken) => _turns.WaitAsync(cancellationToken);

    public void EndTurn() => _turns.Release();

    /// <summary>
    /// Serves the connection until it closes: sends the <c>connected</c> frame, then reads messages and hands each
    /// to <paramref name="onMessage"/>, which must be done with the bytes when it returns.
    /// </summary>
    public async Task RunAsync(Func<RealtimeConnection, ReadOnlyMemory<byte>, ValueTask> onMessage)
    {
        CloseWhenTheTokenExpires();
        TryEnqueue(RealtimeFrames.Connected(Id));
        var writing = WriteAsync();
        try
        {
            await ReadAsync(onMessage);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
            // The client vanished, or the socket was dropped after a close that did not complete.
            Abort();
        }
        finally
        {
            // The reader saw the client's close (answered by the writer) or the socket died.
            Close(WebSocketCloseStatus.NormalClosure, "");
            await writing;
            _closeTimer?.Dispose();
            _expiryTimer?.Dispose();
            _abort.Dispose();
        }
    }

    private async Task ReadAsync(Func<RealtimeConnection, ReadOnlyMemory<byte>, ValueTask> onMessage)
    {
        var chunk = new byte[4096];
        ArrayBufferWriter<byte>? large = null;
        while (true)
        {
            var result = await _socket.ReceiveAsync(chunk.AsMemory(), _abort.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                // Answer with the client's own status, as RFC 6455 suggests; the writer sends it.
                Close(_socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, "");
                return;
            }

            if (IsClosing)
            {
                continue; // Closing: read on only to see the client's close frame.
            }

            var size = (large?.WrittenCount ?? 0) + result.Count;
            if (size > _options.MaxMessageBytes)
            {
                // Counted as frames arrive: a huge message is refused before it is held.
                LogOversized(_logger, Id, _options.MaxMessageBytes);
                Close(WebSocketCloseStatus.MessageTooBig, $"message over the limit of {_options.MaxMessageBytes} bytes");
                continue;
            }

            if (!result.EndOfMessage || large is not null)
            {
                large ??= new ArrayBufferWriter<byte>(8192);
                large.Write(chunk.AsSpan(0, result.Count));
                if (!result.EndOfMessage)
                {
                    continue;
                }
            }

            var message = large is null ? chunk.AsMemory(0, result.Count) : large.WrittenMemory;
            if (result.MessageType == WebSocketMessageType.Binary)
            {
                TryEnqueue(RealtimeFrames.Error(null, ErrorCodes.InvalidRequest, "messages are JSON text frames; a binary frame was ignored"));
            }
            else
            {
                await onMessage(this, message);
            }

            large = null;
        }
    }

    private async Task WriteAsync()
    {
        try
        {
            while (await _outbox.Reader.WaitToReadAsync(_abort.Token))
            {
                while (!IsClosing && _outbox.Reader.TryRead(out var frame))
                {
                    await _socket.SendAsync(frame, WebSocketMessageType.Text, endOfMessage: true, _abort.Token);
                    Interlocked.Add(ref _queuedBytes, -frame.Length);
                }

                if (IsClosing)
                {
                    break;
                }
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync(_closeStatus, _closeReason, _abort.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The client vanished or the close timed out: nothing more can be sent.
        }
    }

    /// <summary>A user's token expires while the connection is open: the connection ends with it.</summary>
    private void CloseWhenTheTokenExpires()
    {
        if (Identity.Caller?.Claims?["exp"] is JsonValue exp && exp.TryGetValue<long>(out var seconds))
        {
            var left = DateTimeOffset.FromUnixTimeSeconds(seconds) - _time.GetUtcNow();
            // Timers reach about 49 days; the app's anon key lives ten years, and no connection that long.
            if (left < TimeSpan.FromDays(40))
            {
                _expiryTimer = _time.CreateTimer(_ => Close(WebSocketCloseStatus.PolicyViolation, "the token expired; reconnect with a fresh one"), null,
                    left > TimeSpan.Zero ? left : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void Abort()
    {
        try
        {
            _abort.Cancel();
            _socket.Abort();
        }
        catch (ObjectDisposedException)
        {
            // Already over.
        }
    }

    [LoggerMessage(EventId = LogEvents.RealtimeClientTooSlow, Level = LogLevel.Information, Message = "Realtime connection {ConnectionId} closed with 1013: over {Limit} bytes were waiting for it")]
    private static partial void LogTooSlow(ILogger logger, string connectionId, int limit);

    [LoggerMessage(EventId = LogEvents.RealtimeMessageTooBig, Level = LogLevel.Information, Message = "Realtime connection {ConnectionId} closed with 1009: a message went over {Limit} bytes")]
    private static partial void LogOversized(ILogger logger, string connectionId, int limit);
}
