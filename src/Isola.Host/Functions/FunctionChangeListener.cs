using Isola.Host.Auth;
using Isola.Host.Data;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Functions;

/// <summary>
/// Keeps one LISTEN connection open and turns function change notifications (from any node) into a dropped
/// cache entry and a <see cref="FunctionChanges"/> event. When the connection is lost (the database died or
/// restarted) the cache keeps what it has, so warm functions go on serving; once a connection is back, the
/// pool's dead connections are dropped and the cache starts from empty, since any change in between was missed.
/// </summary>
internal sealed partial class FunctionChangeListener(NpgsqlDataSource dataSource, DeployedFunctionCache cache, FunctionChanges changes, AppAuthStore appAuth,
    TimeProvider time, ILogger<FunctionChangeListener> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        NotificationListener.RunAsync(dataSource, [FunctionStore.ChangeChannel, AppAuthStore.ChangeChannel], OnNotification,
            onListening: restored =>
            {
                // Anything that changed while we were not listening is unknown: start from empty.
                cache.InvalidateAll();
                appAuth.InvalidateAll();
                changes.NotifyAll();
                if (restored)
                {
                    LogListenRestored(logger);
                }
            },
            onLost: ex => LogListenFailed(logger, ex.Message), time, stoppingToken);

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (e.Channel == AppAuthStore.ChangeChannel)
        {
            appAuth.Invalidate(e.Payload);
            return;
        }

        var slash = e.Payload.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var (app, name) = (e.Payload[..slash], e.Payload[(slash + 1)..]);
            cache.Invalidate(app, name);
            changes.Notify(app, name);
        }
    }

    [LoggerMessage(EventId = LogEvents.ChangeListenerLost, Level = LogLevel.Warning, Message = "Lost the function change listener ({Reason}); serving from what is cached, reconnecting every second")]
    private static partial void LogListenFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.ChangeListenerRestored, Level = LogLevel.Information, Message = "The function change listener is back; cached functions reload on their next call")]
    private static partial void LogListenRestored(ILogger logger);
}
