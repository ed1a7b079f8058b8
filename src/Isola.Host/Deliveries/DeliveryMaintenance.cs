using Isola.Host.Observability;

namespace Isola.Host.Deliveries;

/// <summary>
/// Housekeeping every node runs (the statements are safe to run on several at once): settles rows held for app
/// transactions nobody settled, forgets event ids past their retention and dead letters past theirs.
/// </summary>
internal sealed partial class DeliveryMaintenance(DeliveryStore store, TransactionHolds holds, DeliveryOptions options, ILogger<DeliveryMaintenance> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.MaintenanceInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunOnceAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass; a failure is logged and the next pass tries again.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var (appId, xid) in await store.StaleHoldsAsync(cancellationToken))
            {
                try
                {
                    await holds.ResolveAsync(appId, xid, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // One app's database being away must not keep the others' holds waiting.
                    LogPassFailed(logger, $"app {appId} transaction {xid}", ex.Message);
                }
            }

            await store.ExpireAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogPassFailed(logger, "the maintenance pass", ex.Message);
        }
    }

    [LoggerMessage(EventId = LogEvents.DeliveryMaintenanceFailed, Level = LogLevel.Warning, Message = "Delivery maintenance: {What} failed ({Reason}); trying again next pass")]
    private static partial void LogPassFailed(ILogger logger, string what, string reason);
}
