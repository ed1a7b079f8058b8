using Npgsql;

namespace Isola.Host.Api;

/// <summary><c>GET /health</c>: 200 once the database answers, 503 while it does not. No auth, for probes.</summary>
internal static class HealthEndpoints
{
    public static void MapHealthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/health", async (HttpContext http, NpgsqlDataSource dataSource) =>
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
                timeout.CancelAfter(TimeSpan.FromSeconds(2));
                await using var command = dataSource.CreateCommand("select 1");
                await command.ExecuteScalarAsync(timeout.Token);
                return Results.Json(new { status = "ok" });
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException)
            {
                return Results.Json(new { status = "unavailable", reason = "database: " + ex.Message }, statusCode: 503);
            }
        });
    }
}
