using System.Net.Sockets;
using Npgsql;

namespace Isola.Host.Data;

/// <summary>
/// One LISTEN connection kept open while the node runs. After a loss (the database died or restarted) it drops
/// the pool's dead connections and reconnects every second; each time it listens again its owner hears of it,
/// since whatever was notified in between was missed.
/// </summary>
internal static class ListenConnection
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    /// <param name="listening">Called once LISTEN is in place; true when a loss came before it.</param>
    /// <param name="lost">Called with the reason when the connection is lost, once per outage.</param>
    public static async Task RunAsync(NpgsqlDataSource dataSource, IReadOnlyList<string> channels, NotificationEventHandler onNotification,
        Action<bool> listening, Action<string> lost, CancellationToken stoppingToken)
    {
        var down = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (down)
                {
                    // Idle pooled connections still point at the server that went away; each would fail one call.
                    dataSource.Clear();
                }

                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += onNotification;
                await using (var listen = new NpgsqlCommand(string.Join("; ", channels.Select(channel => "listen " + channel)), connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }

                listening(down);
                down = false;
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException or SocketException)
            {
                if (!down)
                {
                    down = true;
                    lost(ex.Message);
                }

                try
                {
                    await Task.Delay(RetryDelay, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }
}
