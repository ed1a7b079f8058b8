using Npgsql;

namespace Isola.Host.Data;

/// <summary>
/// Tells "the database did not answer" (refused, broken connection, shutting down, starting up, pool
/// exhausted) from "the database answered with an error" (a constraint, a bad query). The first is an
/// outage the caller may retry (503); the second is a bug or bad input and keeps its own handling.
/// </summary>
internal static class DatabaseOutage
{
    public static bool Is(Exception ex) => ex switch
    {
        // 08: connection exception; 57: operator intervention (admin shutdown, cannot connect now); 53: out of resources.
        PostgresException pg => pg.IsTransient || pg.SqlState.StartsWith("08", StringComparison.Ordinal) ||
            pg.SqlState.StartsWith("57", StringComparison.Ordinal) || pg.SqlState.StartsWith("53", StringComparison.Ordinal),
        // Npgsql wraps socket errors, broken streams and pool timeouts in NpgsqlException.
        NpgsqlException => true,
        _ => false,
    };
}
