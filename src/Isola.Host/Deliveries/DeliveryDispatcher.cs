using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Isola.Host.Auth;
using Isola.Host.Data;
using Isola.Host.Functions;
using Isola.Host.Hosting;
using Isola.Host.Invocations;
using Npgsql;

namespace Isola.Host.Deliveries;

/// <summary>
/// Runs due deliveries on this node, every node alike: claims rows (<see cref="DeliveryStore.ClaimAsync"/>) as
/// far as its concurrency allows, invokes each through the invocation core as the service caller, then deletes
/// the row, schedules a retry with backoff, or dead-letters it. Wakes on NOTIFY, so a publish reaches a handler
/// within one claim query; polls too, for retries coming due and notifications missed while disconnected.
/// Leases of running deliveries are renewed, so only a node that dies loses them, to the next claim after
/// the lease runs out.
/// </summary>
internal sealed partial class DeliveryDispatcher(
    NpgsqlDataSource dataSource, DeliveryStore store, ReadySignal ready, DeployedFunctionCache functions, FunctionInvoker invoker, DeliveryOptions options,
    NodeIdentity node, TimeProvider time, ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    private static readonly Caller ServiceCaller = Caller.Service(null);
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    // A rescan after a notification or a finished delivery; the wakes coalesce into one.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<long, ClaimedDelivery> _running = new();

    // Delivered rows, deleted in batches: one statement for all that finished while the last one ran.
    private readonly Channel<long> _delivered = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _abandon = new();
    private readonly CancellationTokenSource _drained = new();
    private int _free = options.MaxConcurrent;

    /// <summary>Deliveries running on this node now.</summary>
    public int Running => _running.Count;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Deliveries already running get a grace period to finish once the node is told to stop.
        await using var stopping = stoppingToken.Register(() => _abandon.CancelAfter(options.StopGrace));
        Action wake = () => _wake.Writer.TryWrite(true);
        ready.Raised += wake;
        var listening = ListenAsync(stoppingToken);
        var renewing = RenewLeasesAsync();
        var completing = CompleteDeliveredAsync();
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var wait = options.IdlePoll;
                var free = Volatile.Read(ref _free);
                if (free > 0)
                {
                    var claimed = await store.ClaimAsync(node.Id, free, stoppingToken);
                    foreach (var delivery in claimed)
                    {
                        Start(delivery);
                    }

                    if (claimed.Count == free)
                    {
                        continue; // There may be more due: claim again as slots free up.
                    }

                    if (await store.NextDueAsync(stoppingToken) is { } due)
                    {
                        // Not zero: a row due now but locked by another node's claim would make this spin.
                        wait = TimeSpan.FromTicks(Math.Clamp(due.Ticks, TimeSpan.FromMilliseconds(5).Ticks, options.IdlePoll.Ticks));
                    }
                }

                if (failing)
                {
                    failing = false;
                    LogClaimRestored(logger);
                }

                await WaitForWakeAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                // The database is down or restarting (or something unforeseen): never crash the node; retry.
                if (!failing)
                {
                    failing = true;
                    LogClaimFailed(logger, ex.Message);
                }

                try
                {
                    await Task.Delay(RetryDelay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        // Let running deliveries finish (or be cancelled after the grace and handed back) before the node goes.
        while (Volatile.Read(ref _free) < options.MaxConcurrent)
        {
            await Task.Delay(20, CancellationToken.None);
        }

        ready.Raised -= wake;
        _delivered.Writer.TryComplete();
        await _drained.CancelAsync();
        await listening;
        await renewing;
        await completing;
    }

    public override void Dispose()
    {
        _abandon.Dispose();
        _drained.Dispose();
        base.Dispose();
    }

    private void Start(ClaimedDelivery delivery)
    {
        Interlocked.Decrement(ref _free);
        _running[delivery.Id] = delivery;
        _ = Task.Run(() => RunAsync(delivery));
    }

    private async Task RunAsync(ClaimedDelivery delivery)
    {
        var cancellationToken = _abandon.Token;
        try
        {
            if (delivery.Attempt > delivery.MaxAttempts)
            {
                // Only a claim after a lost lease gets here: the last allowed attempt never reported back.
                await store.FailAsync(node.Id, delivery.Id, delivery.Attempt,
                    $"attempt {delivery.Attempt - 1} never finished (the node running it stopped), and it was the last", retryAfter: null, cancellationToken);
                LogDeadLettered(logger, delivery.Id, delivery.AppId, delivery.Attempt - 1, "its node stopped");
                return;
            }

            var function = await functions.FindAsync(delivery.AppId, delivery.FunctionId.ToString("D"), cancellationToken);
            if (function is null)
            {
                // Deleted since: its rows go with it (the foreign key), this one included.
                _delivered.Writer.TryWrite(delivery.Id);
                return;
            }

            var invocation = delivery.Event is { } evt
                ? new TriggerInvocation(function, ServiceCaller, TriggerKind.Event, EventPayload(delivery, evt), EmitDepth: evt.Depth + 1)
                : new TriggerInvocation(function, ServiceCaller, TriggerKind.Scheduled, ScheduledPayload(delivery));
            var outcome = await invoker.InvokeAsync(invocation, cancellationToken);
            if (!outcome.Failed)
            {
                _delivered.Writer.TryWrite(delivery.Id);
                return;
            }

            var error = outcome.Describe();
            if (delivery.Attempt >= delivery.MaxAttempts)
            {
                await store.FailAsync(node.Id, delivery.Id, delivery.Attempt, error, retryAfter: null, cancellationToken);
                LogDeadLettered(logger, delivery.Id, delivery.AppId, delivery.Attempt, error);
            }
            else
            {
                var delay = Backoff.Delay(delivery.BackoffMs, delivery.Attempt, options.MaxBackoff);
                await store.FailAsync(node.Id, delivery.Id, delivery.Attempt, error, delay, cancellationToken);
                LogRetrying(logger, delivery.Id, delivery.AppId, delivery.Attempt, delivery.MaxAttempts, (long)delay.TotalMilliseconds, error);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await HandBackAsync(delivery);
        }
        catch (Exception ex)
        {
            // The outcome could not be written (the database went away): the lease runs out and the delivery runs again.
            LogSettleFailed(logger, delivery.Id, ex.Message);
        }
        finally
        {
            _running.TryRemove(delivery.Id, out _);
            Interlocked.Increment(ref _free);
            _wake.Writer.TryWrite(true);
        }
    }

    /// <summary>A delivery cancelled because the node stops: due at once for whichever node claims it next.</summary>
    private async Task HandBackAsync(ClaimedDelivery delivery)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await store.ReleaseAsync(node.Id, [delivery.Id], timeout.Token);
        }
        catch (Exception ex)
        {
            LogSettleFailed(logger, delivery.Id, ex.Message);
        }
    }

    private static JsonObject EventPayload(ClaimedDelivery delivery, PublishedEvent evt) => new()
    {
        ["type"] = "event",
        ["id"] = evt.Id,
        ["name"] = evt.Name,
        ["data"] = JsonNode.Parse(evt.DataJson),
        ["attempt"] = delivery.Attempt,
        ["depth"] = evt.Depth,
        ["publishedAt"] = evt.PublishedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
    };

    private static JsonObject ScheduledPayload(ClaimedDelivery delivery) => new()
    {
        ["type"] = "scheduled",
        ["id"] = delivery.Id.ToString(CultureInfo.InvariantCulture),
        ["args"] = delivery.ArgsJson is null ? null : JsonNode.Parse(delivery.ArgsJson),
        ["attempt"] = delivery.Attempt,
        ["scheduledAt"] = delivery.ScheduledAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
    };

    private async Task WaitForWakeAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(wait);
        try
        {
            await _wake.Reader.WaitToReadAsync(timeout.Token);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            // Nothing woke it: time to look anyway.
        }
    }

    /// <summary>Wakes the claim loop on other nodes' notifications, and rescans after a reconnect (notifications were missed).</summary>
    private Task ListenAsync(CancellationToken stoppingToken) =>
        NotificationListener.RunAsync(dataSource, [DeliveryStore.ReadyChannel],
            (_, e) =>
            {
                if (e.Payload != ready.Payload)
                {
                    _wake.Writer.TryWrite(true); // this node's own news came in process already
                }
            },
            onListening: restored =>
            {
                _wake.Writer.TryWrite(true);
                if (restored)
                {
                    LogListenRestored(logger);
                }
            },
            onLost: ex => LogListenFailed(logger, ex.Message), time, stoppingToken);

    /// <summary>
    /// Deletes delivered rows: whatever finished while the previous delete ran goes in the next one, so a burst
    /// costs a few statements, not one per delivery. A delete that fails leaves rows whose lease runs out and which
    /// are delivered again (at least once).
    /// </summary>
    private async Task CompleteDeliveredAsync()
    {
        var batch = new List<long>();
        while (await _delivered.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < 1000 && _delivered.Reader.TryRead(out var id))
            {
                batch.Add(id);
            }

            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await store.CompleteAsync([.. batch], timeout.Token);
            }
            catch (Exception ex)
            {
                LogCompleteFailed(logger, batch.Count, ex.Message);
            }

            batch.Clear();
        }
    }

    /// <summary>
    /// Every third of the lease, extends the leases of what runs here; until the last running delivery is done, even
    /// while stopping, since a lease lapsing mid-grace would let a second node start it.
    /// </summary>
    private async Task RenewLeasesAsync()
    {
        using var renewal = new PeriodicTimer(options.Lease / 3);
        try
        {
            while (await renewal.WaitForNextTickAsync(_drained.Token))
            {
                var ids = _running.Keys.ToArray();
                if (ids.Length == 0)
                {
                    continue;
                }

                try
                {
                    using var timeout = new CancellationTokenSource(options.Lease / 3);
                    await store.RenewAsync(node.Id, ids, timeout.Token);
                }
                catch (Exception ex)
                {
                    LogRenewFailed(logger, ids.Length, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
