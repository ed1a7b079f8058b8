using System.Text;
using System.Text.Json;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Functions;
using Isola.Host.Observability;

namespace Isola.Host.Api;

/// <summary>
/// <c>GET /v1/{app}/logs/stream[?function=NAME]</c>: the app's console output as Server-Sent Events, each line as
/// it is printed on this node (what <c>isola dev</c> shows). Stored logs stay at <c>…/functions/{name}/logs</c>.
/// </summary>
internal static class LogStreamEndpoints
{
    /// <summary>A comment this often keeps idle proxies and clients from closing a quiet stream.</summary>
    private static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(15);

    public static void MapLogStreamEndpoints(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/v1/{app}/logs/stream", async (string app, HttpContext http, AppStore apps, FunctionStore store, LiveLogFeed feed) =>
        {
            await apps.RequireAsync(app, http.RequestAborted);
            var function = http.Request.Query.TryGetValue("function", out var name) && name.ToString() is { Length: > 0 } given ? given : null;
            if (function is not null)
            {
                await store.GetAsync(app, function, includeCode: false, http.RequestAborted); // 404 FUNCTION_NOT_FOUND for a typo
            }

            await StreamAsync(http, feed.Follow(app, function));
            return Results.Empty;
        }).RequirePermission(Permissions.Read).Produces(StatusCodes.Status200OK, contentType: "text/event-stream");

    private static async Task StreamAsync(HttpContext http, LiveLogFeed.Follower follower)
    {
        using var _ = follower;
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx would otherwise hold events back
        var aborted = http.RequestAborted;
        // The first bytes tell the client it is following from here on.
        await response.WriteAsync(": following\n\n", aborted);
        await response.Body.FlushAsync(aborted);
        var text = new StringBuilder();
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(aborted);
                wait.CancelAfter(Heartbeat);
                bool more;
                try
                {
                    more = await follower.Lines.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!aborted.IsCancellationRequested)
                {
                    await response.WriteAsync(": heartbeat\n\n", aborted);
                    await response.Body.FlushAsync(aborted);
                    continue;
                }

                if (!more)
                {
                    return;
                }

                // Everything waiting goes out in one write and one flush.
                text.Clear();
                while (follower.Lines.TryRead(out var line))
                {
                    text.Append("data: ").Append(JsonSerializer.Serialize(new
                    {
                        function = line.Function,
                        version = line.Version,
                        invocationId = line.InvocationId,
                        level = line.Level,
                        msg = line.Message,
                        ts = line.Timestamp,
                    })).Append("\n\n");
                }

                if (follower.TakeDropped() is > 0 and var dropped)
                {
                    text.Append("event: dropped\ndata: {\"dropped\":").Append(dropped).Append("}\n\n");
                }

                await response.WriteAsync(text.ToString(), aborted);
                await response.Body.FlushAsync(aborted);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The client went away.
        }
        catch (IOException) when (aborted.IsCancellationRequested)
        {
        }
    }
}
