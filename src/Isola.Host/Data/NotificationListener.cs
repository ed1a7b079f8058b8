using Npgsql;

namespace Isola.Host.Data;

/// <summary>
/// Keeps one connection LISTENing on some channels for as long as the node runs. When the connection is lost
/// (the database died or restarted) it retries every second; once listening again it says so, since whatever
/// was notified in between was missed. Never throws but on stop: a listener must not stop the node.
/// </summary>
internal static class NotificationListener
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <param name="onListening">Called each time the LISTEN is in place; true when it comes back after a loss.</param>
    /// <param name="onLost">Called once per loss, with what broke the connection.</param>
    public static async Task RunAsync(NpgsqlDataSource dataSource, IReadOnlyList<string> channels, NotificationEventHandler onNotification,
        Action<bool> onListening, Action<Exception> onLost, TimeProvider time, CancellationToken stoppingToken)
    {
        var lost = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (lost)
                {
                    // Idle pooled connections still point at the server that went away; each would fail one call.
                    dataSource.Clear();
                }

                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += onNotification;
                await using (var listen = new NpgsqlCommand(string.Concat(channels.Select(channel => $"listen {channel};")), connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                onListening(lost);
                lost = false;
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                if (!lost)
                {
                    lost = true;
                    onLost(ex);
                }

                await Task.Delay(RetryDelay, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }
}
