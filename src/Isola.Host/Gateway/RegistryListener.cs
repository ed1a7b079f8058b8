using Isola.Host.Auth;
using Isola.Host.Functions;
using Npgsql;

namespace Isola.Host.Gateway;

/// <summary>Keeps one LISTEN connection open and feeds function change notifications to the registry.</summary>
internal sealed partial class RegistryListener(NpgsqlDataSource dataSource, FunctionRegistry registry, AppAuthStore appAuth, ILogger<RegistryListener> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == AppAuthStore.ChangeChannel)
                    {
                        appAuth.Invalidate(e.Payload);
                        return;
                    }

                    var slash = e.Payload.IndexOf('/', StringComparison.Ordinal);
                    if (slash > 0)
                    {
                        registry.Invalidate(e.Payload[..slash], e.Payload[(slash + 1)..]);
                    }
                };
                await using (var listen = new NpgsqlCommand($"listen {FunctionStore.ChangeChannel}; listen {AppAuthStore.ChangeChannel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                // Anything that changed while we were not listening is unknown: start from empty.
                registry.InvalidateAll();
                appAuth.InvalidateAll();
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
            {
                registry.InvalidateAll();
                LogListenFailed(logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the function change listener ({Reason}); reconnecting")]
    private static partial void LogListenFailed(ILogger logger, string reason);
}
