using Isola.Host.Hosting;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Deliveries;

/// <summary>
/// Tells the dispatchers that deliveries became ready: this node's at once, in process, and the other nodes' by a
/// NOTIFY sent in a transaction of its own. Not in the transaction that made the rows: PostgreSQL serialises the
/// commits of transactions that NOTIFY (a cluster-wide lock held through the WAL flush), which capped publishing at
/// one fsync per event. Requests that come while a NOTIFY is on its way fold into the next one.
/// </summary>
internal sealed partial class ReadySignal(NpgsqlDataSource dataSource, NodeIdentity node, ILogger<ReadySignal> logger)
{
    private int _requested;
    private int _sending;
    private long _lastFailureTicks = long.MinValue;

    /// <summary>Raised in process; the dispatcher of this node listens.</summary>
    public event Action? Raised;

    /// <summary>The NOTIFY payload: this node's id, so its own listener can skip what it already knows.</summary>
    public string Payload => node.Id;

    public void Raise()
    {
        Raised?.Invoke();
        Volatile.Write(ref _requested, 1);
        if (Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
        {
            _ = Task.Run(SendAsync);
        }
    }

    private async Task SendAsync()
    {
        try
        {
            while (Interlocked.Exchange(ref _requested, 0) == 1)
            {
                try
                {
                    await using var command = dataSource.CreateCommand($"select pg_notify('{DeliveryStore.ReadyChannel}', $1)");
                    command.Parameters.Add(new NpgsqlParameter { Value = node.Id });
                    await command.ExecuteNonQueryAsync();
                }
                catch (Exception ex)
                {
                    // The other nodes poll too, so a lost notification costs them latency, not deliveries.
                    var now = Environment.TickCount64;
                    if (now - Interlocked.Read(ref _lastFailureTicks) > 10_000)
                    {
                        Interlocked.Exchange(ref _lastFailureTicks, now);
                        LogNotifyFailed(logger, ex.Message);
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sending, 0);
            // A request that came after the loop's last look but before the flag dropped would wait for the next one.
            if (Volatile.Read(ref _requested) == 1 && Interlocked.CompareExchange(ref _sending, 1, 0) == 0)
            {
                _ = Task.Run(SendAsync);
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.DeliveryNotifyFailed, Level = LogLevel.Warning, Message = "Could not notify the other nodes of ready deliveries ({Reason}); they find them by polling")]
    private static partial void LogNotifyFailed(ILogger logger, string reason);
}
