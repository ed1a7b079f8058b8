namespace Isola.Host.Realtime;

/// <summary>Bounds on realtime WebSocket connections (<c>/v1/{app}/realtime</c>, docs/triggers.md).</summary>
internal sealed record RealtimeOptions
{
    /// <summary>Largest message a client may send, in bytes, counted as frames arrive; past it the socket is closed with 1009.</summary>
    public int MaxMessageBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// Largest frame <c>ctx.realtime.send</c> / <c>broadcast</c> may push, in bytes of the JSON sent to clients;
    /// past it the call fails with <c>PAYLOAD_TOO_LARGE</c>.
    /// </summary>
    public int MaxPushBytes { get; init; } = 256 * 1024;

    /// <summary>Messages a connection may send per second, sustained; past it (and the burst) each message gets a <c>RATE_LIMITED</c> reply.</summary>
    public int MessagesPerSecond { get; init; } = 20;

    /// <summary>Messages a connection may send at once before the per-second rate applies.</summary>
    public int MessageBurst { get; init; } = 40;

    /// <summary>
    /// Bytes of frames waiting for one client, from being queued to being written to its socket; a client
    /// that lets more pile up is too slow and is closed with 1013.
    /// </summary>
    public int SendQueueBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Messages of one connection whose functions run at once; the next message is read only when one ends.</summary>
    public int MaxConcurrentMessages { get; init; } = 8;

    /// <summary>Channels one connection may be subscribed to.</summary>
    public int MaxSubscriptions { get; init; } = 100;

    /// <summary>
    /// From the host deciding to close a connection (slow client, oversized message, node stopping) to the
    /// socket being dropped when the client does not complete the close handshake.
    /// </summary>
    public TimeSpan CloseTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
