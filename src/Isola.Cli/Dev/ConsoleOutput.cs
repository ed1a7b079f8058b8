using System.Globalization;
using Isola.Client;
using Spectre.Console;

namespace Isola.Cli.Dev;

/// <summary>
/// Prints every function's console output as the node streams it (<see cref="FunctionsApi.FollowLogsAsync"/>):
/// <c>12:00:01 hello  message</c>, errors in red and warnings in yellow on a terminal. The stream is held open for
/// as long as dev runs; if it breaks, it is opened again.
/// </summary>
internal static class ConsoleOutput
{
    private static readonly TimeSpan Reconnect = TimeSpan.FromSeconds(1);

    public static async Task FollowAsync(CliContext context, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await foreach (var line in context.Client.Functions.FollowLogsAsync(cancellationToken: cancellationToken))
                {
                    Print(context, line);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or IsolaApiException)
            {
                // The node is restarting its database, or going away: try again while dev runs.
            }

            try
            {
                await Task.Delay(Reconnect, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static void Print(CliContext context, ConsoleLine line)
    {
        var time = line.Timestamp.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        var colour = line.Level switch { "error" => "red", "warn" => "yellow", "debug" => "grey", _ => "default" };
        foreach (var text in line.Message.Split('\n'))
        {
            context.Terminal.Markup($"[grey]{time}[/] [blue]{Markup.Escape(line.Function)}[/] [{colour}]{Markup.Escape(text)}[/]");
        }
    }
}
