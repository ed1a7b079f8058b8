using System.Collections.Concurrent;
using Isola.Host.Data;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Observability;

namespace Isola.Host.Realtime.LiveQueries;

/// <summary>
/// LISTENs on <c>isola_live</c> in each app database this node has live queries for, from the first subscription
/// until the node stops, on a connection of its own. A change trigger's NOTIFY arrives once the writing transaction
/// commits, whichever node (or psql session) wrote; <see cref="Changed"/> gets the app and <c>schema.table</c>.
/// After the connection was lost and comes back, <see cref="Missed"/> fires: whatever committed meanwhile went unheard.
/// </summary>
internal sealed partial class AppChangeListener(AppDatabases databases, TimeProvider time, IHostApplicationLifetime lifetime, ILogger<AppChangeListener> logger)
{
    public const string Channel = "isola_live";

    private readonly ConcurrentDictionary<string, Task> _listening = new(StringComparer.Ordinal);

    public event Action<string, string>? Changed;

    public event Action<string>? Missed;

    /// <summary>Completes once the app's LISTEN is in place (at once after the first time).</summary>
    public Task EnsureAsync(string appId) => _listening.GetOrAdd(appId, Start);

    private Task Start(string appId)
    {
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(() => NotificationListener.RunAsync(databases.Listener(appId), [Channel],
            (_, notification) => Changed?.Invoke(appId, notification.Payload),
            afterLoss =>
            {
                first.TrySetResult();
                if (afterLoss)
                {
                    LogRestored(logger, appId);
                    Missed?.Invoke(appId);
                }
            },
            ex => LogLost(logger, appId, ex.Message),
            time, lifetime.ApplicationStopping));
        return first.Task;
    }

    [LoggerMessage(EventId = LogEvents.LiveListenerLost, Level = LogLevel.Warning, Message = "Live queries: lost the change notices of app {App} ({Reason}); reconnecting")]
    private static partial void LogLost(ILogger logger, string app, string reason);

    [LoggerMessage(EventId = LogEvents.LiveListenerRestored, Level = LogLevel.Information, Message = "Live queries: hearing the change notices of app {App} again; its live queries run again")]
    private static partial void LogRestored(ILogger logger, string app);
}
