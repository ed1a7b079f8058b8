using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Isola.Host.Data;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Realtime;

/// <summary>
/// Carries realtime frames between nodes on one PostgreSQL: a publish is a NOTIFY on <see cref="NotifyChannel"/>
/// that every node LISTENs to, and each node hands what it hears to its own <see cref="RealtimeHub"/>. A NOTIFY
/// payload must stay under 8000 bytes, so a larger frame is stored in <c>isola.realtime_frames</c> and the
/// NOTIFY carries the row id. At most once: a node that is not listening at that moment (its database
/// connection is being re-established) misses the frame.
/// </summary>
/// <remarks>
/// Payload: <c>node \n app \n kind \n target \n body</c>, where kind is <c>channel</c> or <c>connection</c>,
/// target the channel name or connection id (neither holds a newline), and body the frame's JSON, or
/// <c>#id</c> for a stored one. A node skips its own publishes: it delivered them locally already.
/// </remarks>
internal sealed partial class RealtimeBus(NpgsqlDataSource dataSource, RealtimeHub hub, NodeIdentity node, TimeProvider time, ILogger<RealtimeBus> logger)
    : BackgroundService
{
    public const string NotifyChannel = "isola_realtime";

    /// <summary>The largest payload sent inline; PostgreSQL refuses 8000 bytes or more.</summary>
    public const int MaxInlineBytes = 7900;

    private const string ToChannel = "channel";
    private const string ToConnection = "connection";
    private static readonly TimeSpan SweepEvery = TimeSpan.FromSeconds(30);

    // Notifications wait here for the consumer (a stored frame costs a query); past this many, new ones are dropped.
    private readonly Channel<string> _inbox = Channel.CreateBounded<string>(new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private long _lastSweep = long.MinValue;
    private long _dropped;

    /// <summary>Sends the frame to the app channel's subscribers on the other nodes.</summary>
    public Task PublishToChannelAsync(string appId, string channel, byte[] frame, CancellationToken cancellationToken) =>
        PublishAsync(appId, ToChannel, channel, frame, cancellationToken);

    /// <summary>Sends the frame to the node holding the connection, if any node does.</summary>
    public Task PublishToConnectionAsync(string appId, string connectionId, byte[] frame, CancellationToken cancellationToken) =>
        PublishAsync(appId, ToConnection, connectionId, frame, cancellationToken);

    private async Task PublishAsync(string appId, string kind, string target, byte[] frame, CancellationToken cancellationToken)
    {
        var header = $"{node.Id}\n{appId}\n{kind}\n{target}\n";
        if (Encoding.UTF8.GetByteCount(header) + frame.Length <= MaxInlineBytes)
        {
            await using var notify = dataSource.CreateCommand("select pg_notify($1, $2)");
            notify.Parameters.Add(new NpgsqlParameter { Value = NotifyChannel });
            notify.Parameters.Add(new NpgsqlParameter { Value = header + Encoding.UTF8.GetString(frame) });
            await notify.ExecuteNonQueryAsync(cancellationToken);
            return;
        }

        await using var store = dataSource.CreateCommand("""
            with stored as (insert into isola.realtime_frames (frame) values ($3) returning id)
            select pg_notify($1, $2 || '#' || id) from stored
            """);
        store.Parameters.Add(new NpgsqlParameter { Value = NotifyChannel });
        store.Parameters.Add(new NpgsqlParameter { Value = header });
        store.Parameters.Add(new NpgsqlParameter { Value = Encoding.UTF8.GetString(frame) });
        await store.ExecuteNonQueryAsync(cancellationToken);
        await SweepAsync(cancellationToken);
    }

    /// <summary>Deletes stored frames every node has had a minute to read; at most every 30 s per node.</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetTimestamp();
        var last = Interlocked.Read(ref _lastSweep);
        if ((last != long.MinValue && time.GetElapsedTime(last, now) < SweepEvery) || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        await using var sweep = dataSource.CreateCommand("delete from isola.realtime_frames where created_at < now() - interval '1 minute'");
        await sweep.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.WhenAll(ListenAsync(stoppingToken), ConsumeAsync(stoppingToken));

    private Task ListenAsync(CancellationToken stoppingToken) =>
        NotificationListener.RunAsync(dataSource, [NotifyChannel], (_, e) => Receive(e.Payload),
            onListening: restored =>
            {
                if (restored)
                {
                    LogListenRestored(logger);
                }
            },
            onLost: ex => LogListenFailed(logger, ex.Message), time, stoppingToken);

    private void Receive(string payload)
    {
        if (!_inbox.Writer.TryWrite(payload) && Interlocked.Increment(ref _dropped) % 1000 == 1)
        {
            LogInboxFull(logger, Interlocked.Read(ref _dropped));
        }
    }

    private async Task ConsumeAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var payload in _inbox.Reader.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await DeliverAsync(payload, stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // One bad or unreadable frame is dropped; the next is delivered.
                    LogDeliveryFailed(logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The node is stopping.
        }
    }

    private async Task DeliverAsync(string payload, CancellationToken cancellationToken)
    {
        var parts = payload.Split('\n', 5);
        if (parts.Length != 5)
        {
            throw new FormatException($"a realtime notification without its five parts: '{payload[..Math.Min(payload.Length, 80)]}'");
        }

        var (origin, appId, kind, target, body) = (parts[0], parts[1], parts[2], parts[3], parts[4]);
        if (origin == node.Id)
        {
            return;
        }

        var frame = body.StartsWith('#') ? await LoadStoredAsync(long.Parse(body.AsSpan(1), CultureInfo.InvariantCulture), cancellationToken) : Encoding.UTF8.GetBytes(body);
        if (frame is null)
        {
            LogStoredFrameGone(logger, body);
            return;
        }

        if (kind == ToChannel)
        {
            hub.DeliverToChannel(appId, target, frame);
        }
        else
        {
            hub.DeliverToConnection(appId, target, frame);
        }
    }

    private async Task<byte[]?> LoadStoredAsync(long id, CancellationToken cancellationToken)
    {
        await using var select = dataSource.CreateCommand("select frame from isola.realtime_frames where id = $1");
        select.Parameters.Add(new NpgsqlParameter { Value = id });
        return await select.ExecuteScalarAsync(cancellationToken) is string frame ? Encoding.UTF8.GetBytes(frame) : null;
    }

    [LoggerMessage(EventId = LogEvents.RealtimeListenerLost, Level = LogLevel.Warning, Message = "Lost the realtime listener ({Reason}); broadcasts from other nodes are missed until it is back, retrying every second")]
    private static partial void LogListenFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.RealtimeListenerRestored, Level = LogLevel.Information, Message = "The realtime listener is back")]
    private static partial void LogListenRestored(ILogger logger);

    [LoggerMessage(EventId = LogEvents.RealtimeInboxFull, Level = LogLevel.Warning, Message = "Realtime frames from other nodes arrive faster than this node hands them out; {Dropped} dropped so far")]
    private static partial void LogInboxFull(ILogger logger, long dropped);

    [LoggerMessage(EventId = LogEvents.RealtimeDeliveryFailed, Level = LogLevel.Warning, Message = "A realtime frame from another node could not be delivered: {Reason}")]
    private static partial void LogDeliveryFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.RealtimeStoredFrameGone, Level = LogLevel.Warning, Message = "A stored realtime frame ({Reference}) was gone before this node read it")]
    private static partial void LogStoredFrameGone(ILogger logger, string reference);
}
