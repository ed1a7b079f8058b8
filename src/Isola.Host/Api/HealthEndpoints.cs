using Isola.Host.Data;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Api;

/// <summary>
/// <c>GET /health</c>: 200 once the database answers, 503 while it does not (and why: down, or being
/// restarted). Also the invocation records dropped since start. No auth, for probes.
/// </summary>
internal static class HealthEndpoints
{
    public static void MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/health", async (HttpContext http, NpgsqlDataSource dataSource, DatabaseState state, InvocationRecorder recorder) =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                await using var command = dataSource.CreateCommand("select 1");
                await command.ExecuteScalarAsync(timeout.Token);
                return Results.Json(new { status = "ok", database = "up", invocationRecordsDropped = recorder.DroppedRecords });
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
            {
                return Results.Json(new
                {
                    status = "unavailable",
                    database = state.Outage is null ? "down" : "restarting",
                    reason = state.Outage ?? "database: " + ex.Message,
                    invocationRecordsDropped = recorder.DroppedRecords,
                }, statusCode: 503);
            }
        });
    }
}
