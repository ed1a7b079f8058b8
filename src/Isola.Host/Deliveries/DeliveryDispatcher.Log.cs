using Isola.Host.Observability;

namespace Isola.Host.Deliveries;

internal sealed partial class DeliveryDispatcher
{
    [LoggerMessage(EventId = LogEvents.DeliveryClaimFailed, Level = LogLevel.Warning, Message = "Cannot claim deliveries ({Reason}); retrying every second")]
    private static partial void LogClaimFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.DeliveryClaimRestored, Level = LogLevel.Information, Message = "Claiming deliveries again")]
    private static partial void LogClaimRestored(ILogger logger);

    [LoggerMessage(EventId = LogEvents.DeliveryListenerLost, Level = LogLevel.Warning, Message = "Lost the delivery listener ({Reason}); polling until it is back")]
    private static partial void LogListenFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.DeliveryListenerRestored, Level = LogLevel.Information, Message = "The delivery listener is back")]
    private static partial void LogListenRestored(ILogger logger);

    [LoggerMessage(EventId = LogEvents.DeliveryRetrying, Level = LogLevel.Information, Message = "Delivery {Id} of app {App} failed attempt {Attempt} of {MaxAttempts}, retrying in {DelayMs} ms: {Error}")]
    private static partial void LogRetrying(ILogger logger, long id, string app, int attempt, int maxAttempts, long delayMs, string error);

    [LoggerMessage(EventId = LogEvents.DeliveryDeadLettered, Level = LogLevel.Warning, Message = "Delivery {Id} of app {App} is dead-lettered after {Attempts} attempts: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, long id, string app, int attempts, string error);

    [LoggerMessage(EventId = LogEvents.DeliverySettleFailed, Level = LogLevel.Warning, Message = "Could not record how delivery {Id} ended ({Reason}); it runs again once its lease runs out")]
    private static partial void LogSettleFailed(ILogger logger, long id, string reason);

    [LoggerMessage(EventId = LogEvents.DeliveryCompleteFailed, Level = LogLevel.Warning, Message = "Could not mark {Count} deliveries delivered ({Reason}); they run again once their leases run out")]
    private static partial void LogCompleteFailed(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = LogEvents.DeliveryRenewFailed, Level = LogLevel.Warning, Message = "Could not renew the leases of {Count} running deliveries ({Reason})")]
    private static partial void LogRenewFailed(ILogger logger, int count, string reason);
}
