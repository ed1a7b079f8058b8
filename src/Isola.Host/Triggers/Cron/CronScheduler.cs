using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Data;
using Isola.Host.Functions;
using Isola.Host.Hosting;
using Isola.Host.Invocations;
using Isola.Host.Observability;
using Isola.Host.Scheduling;
using Npgsql;

namespace Isola.Host.Triggers.Cron;

/// <summary>
/// Fires cron triggers (T1) on this node. It sleeps until the next tick (not a coarse poll), then tries to
/// claim the tick's row; the node whose insert lands runs the function's current version as the service
/// caller with <c>{"type":"cron","schedule","scheduledAt"}</c>, so a tick runs once however many nodes run
/// this loop. Deploys, updates and deletes wake it at once (<see cref="FunctionChanges"/>); the list is
/// also reloaded every <see cref="CronOptions.ResyncInterval"/> as a safety net.
/// </summary>
/// <remarks>
/// Ticks are claimed by the database clock: this node wakes by its own clock corrected by the offset it
/// last measured, and a claim the database finds early is retried at the right moment. What happens to
/// ticks missed while every node was down, and to a tick whose previous run still goes, is decision 017.
/// </remarks>
internal sealed partial class CronScheduler(
    CronTickStore store, DeployedFunctionCache functions, FunctionChanges changes, FunctionInvoker invoker, NodeIdentity node, CronOptions options,
    TimeProvider time, ILogger<CronScheduler> logger) : BackgroundService
{
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(30);

    // Released by change notices; at most one wake-up is pending, which is all the loop needs.
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly ConcurrentDictionary<Task, byte> _runs = new();
    private readonly CancellationTokenSource _stopRuns = new();
    private Dictionary<CronKey, CronEntry> _entries = [];
    private int _reloadRequested = 1;
    private DateTimeOffset _nextReload;
    private DateTimeOffset _nextCleanup;

    // The database clock minus this node's, measured at every claim and load.
    private TimeSpan _clockOffset;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        changes.Changed += OnFunctionChanged;
        changes.Reset += OnFunctionsReset;
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Stops claiming ticks, then lets runs in flight finish until the host's shutdown timeout, as HTTP requests do.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        changes.Changed -= OnFunctionChanged;
        changes.Reset -= OnFunctionsReset;
        await base.StopAsync(cancellationToken);
        var inFlight = Task.WhenAll(_runs.Keys);
        try
        {
            await inFlight.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            await _stopRuns.CancelAsync();
            // Cancelled runs record themselves as failed; give them a moment to do so.
            await Task.WhenAny(inFlight, Task.Delay(TimeSpan.FromSeconds(2), CancellationToken.None));
        }
    }

    public override void Dispose()
    {
        _stopRuns.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retryDelay = options.RetryDelay;
        var failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var now = time.GetUtcNow();
                if (Interlocked.Exchange(ref _reloadRequested, 0) == 1 || now >= _nextReload)
                {
                    await ReloadAsync(stoppingToken);
                }

                if (now >= _nextCleanup)
                {
                    var deleted = await store.DeleteOldAsync(options.TickRetention, stoppingToken);
                    LogCleanedUp(logger, deleted);
                    _nextCleanup = now + options.CleanupInterval;
                }

                await FireDueTicksAsync(stoppingToken);
                if (failing)
                {
                    failing = false;
                    LogBack(logger);
                }

                retryDelay = options.RetryDelay;
                await WaitAsync(UntilNextWake(), stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // A database outage (or anything else) never stops the host: log once, back off, reload after.
                if (!failing)
                {
                    failing = true;
                    LogLoopFailed(logger, DatabaseOutage.Is(ex) ? "the database is unavailable" : "unexpected error", ex.Message, ex);
                }

                Volatile.Write(ref _reloadRequested, 1);
                try
                {
                    await WaitAsync(retryDelay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, MaxRetryDelay.Ticks));
            }
        }
    }

    private void OnFunctionChanged(string appId, string name) => OnFunctionsReset();

    private void OnFunctionsReset()
    {
        Volatile.Write(ref _reloadRequested, 1);
        Wake();
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is already pending.
        }
        catch (ObjectDisposedException)
        {
            // The node is stopping.
        }
    }

    private async Task WaitAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay > TimeSpan.Zero)
        {
            await _wake.WaitAsync(delay, cancellationToken);
        }
    }

    /// <summary>Until the earliest next tick by this node's clock, capped by the next reload or clean-up.</summary>
    private TimeSpan UntilNextWake()
    {
        var now = time.GetUtcNow();
        var wake = _nextReload < _nextCleanup ? _nextReload : _nextCleanup;
        foreach (var entry in _entries.Values)
        {
            if (entry.Next is { } tick && tick - _clockOffset < wake)
            {
                wake = tick - _clockOffset;
            }
        }

        return wake - now;
    }

    private async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var before = time.GetUtcNow();
        var (functions, databaseNow) = await store.LoadAsync(cancellationToken);
        MeasureClock(before, databaseNow);
        var oldest = databaseNow - options.MissedTickGrace;
        var entries = new Dictionary<CronKey, CronEntry>();
        foreach (var function in functions)
        {
            if (_entries.TryGetValue(function.Key, out var known))
            {
                // Same trigger, maybe a new version or name: keep where this node is in its ticks.
                known.AppId = function.AppId;
                known.Name = function.Name;
                entries[function.Key] = known;
                continue;
            }

            if (!CronSchedule.TryParse(function.Key.Schedule, function.Key.TimeZone, out var schedule, out var error))
            {
                LogUnparsable(logger, function.AppId, function.Name, function.Key.Schedule, error!);
                continue;
            }

            // New to this node: a tick from before the version was deployed never runs, and of the ticks in
            // the grace window only the most recent one nobody ran does (CronEntry.LatestDue).
            var from = function.VersionCreatedAt > oldest ? function.VersionCreatedAt : oldest;
            entries[function.Key] = new CronEntry(function.Key, schedule!, function.AppId, function.Name, from);
        }

        _entries = entries;
        _nextReload = time.GetUtcNow() + options.ResyncInterval;
        LogLoaded(logger, entries.Count);
    }

    private async Task FireDueTicksAsync(CancellationToken cancellationToken)
    {
        foreach (var entry in _entries.Values)
        {
            var databaseNow = time.GetUtcNow() + _clockOffset;
            if (entry.LatestDue(databaseNow, databaseNow - options.MissedTickGrace) is not { } tick)
            {
                continue;
            }

            try
            {
                await FireAsync(entry, tick, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException && !DatabaseOutage.Is(ex))
            {
                // One trigger's trouble never holds up the others; an outage goes up to the loop's backoff.
                LogTickFailed(logger, entry.AppId, entry.Name, tick, ex);
                entry.Handled(tick);
            }
        }
    }

    private async Task FireAsync(CronEntry entry, DateTimeOffset tick, CancellationToken cancellationToken)
    {
        var function = await functions.FindAsync(entry.AppId, entry.Key.FunctionId.ToString("D"), cancellationToken);
        if (function is null || !HasTrigger(function, entry.Key))
        {
            // Deleted or changed since the list was loaded: the notice that says so reloads it.
            Volatile.Write(ref _reloadRequested, 1);
            entry.Handled(tick);
            return;
        }

        var invocationId = FunctionInvoker.NewInvocationId();
        var lease = TimeSpan.FromMilliseconds(function.Settings.TimeoutMs) + options.LeaseMargin;
        var before = time.GetUtcNow();
        CronTickStore.Claim claim;
        try
        {
            claim = await store.ClaimAsync(entry.Key, tick, function.Version, node.Id, Guid.ParseExact(invocationId, "N"), lease, options.MissedTickGrace,
                cancellationToken);
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            // Deleted between its last notice and this tick; the delete's own notice is on its way.
            Volatile.Write(ref _reloadRequested, 1);
            entry.Handled(tick);
            return;
        }

        MeasureClock(before, claim.DatabaseNow);
        switch (claim.Status)
        {
            case null when claim.DatabaseNow < tick:
                // This node's clock ran ahead of the database's: try again when the tick is due there.
                return;
            case null:
                LogClaimedElsewhere(logger, entry.AppId, entry.Name, tick);
                break;
            case CronTickStore.Skipped:
                LogSkipped(logger, entry.AppId, entry.Name, entry.Key.Schedule, tick, claim.Detail ?? "");
                break;
            default:
                Track(RunAsync(entry, function, tick, invocationId));
                break;
        }

        entry.Handled(tick);
    }

    private static bool HasTrigger(DeployedFunction function, CronKey key) =>
        function.Settings.Triggers.Any(trigger => trigger.Type == TriggerSpec.Cron &&
            trigger.Config.TryGetValue("schedule", out var schedule) && schedule == key.Schedule &&
            (trigger.Config.TryGetValue("timezone", out var zone) ? zone : CronKey.Utc) == key.TimeZone);

    private void Track(Task run)
    {
        _runs.TryAdd(run, 0);
        _ = run.ContinueWith(done => _runs.TryRemove(done, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Runs a claimed tick and records how it ended. Never throws.</summary>
    private async Task RunAsync(CronEntry entry, DeployedFunction function, DateTimeOffset tick, string invocationId)
    {
        // Off the loop's thread at once: the loop goes on claiming other triggers' ticks.
        await Task.Yield();
        var payload = new JsonObject
        {
            ["type"] = TriggerKind.Cron.Name(),
            ["schedule"] = entry.Key.Schedule,
            ["scheduledAt"] = CronKey.FormatTick(tick),
        };
        LogRunning(logger, entry.AppId, entry.Name, tick, (time.GetUtcNow() + _clockOffset - tick).TotalMilliseconds);
        string status;
        string? detail = null;
        try
        {
            var outcome = await invoker.InvokeAsync(
                new TriggerInvocation(function, Caller.Service(null), TriggerKind.Cron, payload, InvocationId: invocationId), _stopRuns.Token);
            status = outcome.Failed ? CronTickStore.Failed : CronTickStore.Succeeded;
            if (outcome.Failed)
            {
                detail = outcome.Describe();
                LogRunFailed(logger, entry.AppId, entry.Name, tick, detail);
            }
        }
        catch (OperationCanceledException)
        {
            status = CronTickStore.Failed;
            detail = "the node stopped during the run";
        }

        try
        {
            await store.FinishAsync(entry.Key, tick, status, detail, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The row stays "running" until its lease ends; later ticks of this trigger are skipped until then.
            LogFinishNotRecorded(logger, entry.AppId, entry.Name, tick, ex.Message);
        }
    }

    private void MeasureClock(DateTimeOffset sentAt, DateTimeOffset databaseNow)
    {
        var receivedAt = time.GetUtcNow();
        _clockOffset = databaseNow - (sentAt + (receivedAt - sentAt) / 2);
    }

    [LoggerMessage(EventId = LogEvents.CronWatching, Level = LogLevel.Debug, Message = "Cron: watching {Count} cron trigger(s)")]
    private static partial void LogLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = LogEvents.CronTicksDeleted, Level = LogLevel.Debug, Message = "Cron: deleted {Count} old tick row(s)")]
    private static partial void LogCleanedUp(ILogger logger, int count);

    [LoggerMessage(EventId = LogEvents.CronTickClaimedElsewhere, Level = LogLevel.Debug, Message = "Cron: {App}/{Function} tick {Tick:o} runs on another node")]
    private static partial void LogClaimedElsewhere(ILogger logger, string app, string function, DateTimeOffset tick);

    [LoggerMessage(EventId = LogEvents.CronRunStarting, Level = LogLevel.Debug, Message = "Cron: {App}/{Function} tick {Tick:o} starts {DelayMs:F1} ms after its time")]
    private static partial void LogRunning(ILogger logger, string app, string function, DateTimeOffset tick, double delayMs);

    [LoggerMessage(EventId = LogEvents.CronTickSkipped, Level = LogLevel.Warning, Message = "Cron: {App}/{Function} ({Schedule}) tick {Tick:o} skipped: {Reason}")]
    private static partial void LogSkipped(ILogger logger, string app, string function, string schedule, DateTimeOffset tick, string reason);

    [LoggerMessage(EventId = LogEvents.CronRunFailed, Level = LogLevel.Warning, Message = "Cron: {App}/{Function} tick {Tick:o} failed: {Reason}")]
    private static partial void LogRunFailed(ILogger logger, string app, string function, DateTimeOffset tick, string reason);

    [LoggerMessage(EventId = LogEvents.CronRunNotRecorded, Level = LogLevel.Warning, Message = "Cron: could not record how {App}/{Function} tick {Tick:o} ended ({Reason}); its next ticks wait for the lease to end")]
    private static partial void LogFinishNotRecorded(ILogger logger, string app, string function, DateTimeOffset tick, string reason);

    [LoggerMessage(EventId = LogEvents.CronTickNotClaimed, Level = LogLevel.Error, Message = "Cron: {App}/{Function} tick {Tick:o} could not be claimed")]
    private static partial void LogTickFailed(ILogger logger, string app, string function, DateTimeOffset tick, Exception exception);

    [LoggerMessage(EventId = LogEvents.CronScheduleUnparsable, Level = LogLevel.Error, Message = "Cron: {App}/{Function} has a schedule that no longer parses ('{Schedule}': {Error}); it does not fire")]
    private static partial void LogUnparsable(ILogger logger, string app, string function, string schedule, string error);

    [LoggerMessage(EventId = LogEvents.CronLoopFailing, Level = LogLevel.Warning, Message = "Cron: ticks are not being claimed ({Kind}: {Reason}); retrying with backoff")]
    private static partial void LogLoopFailed(ILogger logger, string kind, string reason, Exception exception);

    [LoggerMessage(EventId = LogEvents.CronLoopRestored, Level = LogLevel.Information, Message = "Cron: claiming ticks again")]
    private static partial void LogBack(ILogger logger);
}
