using System.Text.Json.Nodes;
using Npgsql;

namespace Isola.Host.Observability;

/// <summary>Reads the invocation log and per-function statistics (feature O1, O2).</summary>
internal sealed class InvocationQueries(NpgsqlDataSource dataSource)
{
    public const int MaxLimit = 500;

    public sealed record LogFilter(int? Status, bool ErrorsOnly, DateTimeOffset? Since, DateTimeOffset? Until, int Limit);

    /// <summary>Newest first.</summary>
    public async Task<JsonArray> LogsAsync(Guid functionId, LogFilter filter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select id, version, started_at, duration_ms, method, path, status, error_code, error_message, error_stack, memory_bytes, caller_kind, user_id, logs::text, trigger
            from isola.invocations
            where function_id = $1
              and ($2::int is null or status = $2)
              and (not $3 or status >= 500)
              and ($4::timestamptz is null or started_at >= $4)
              and ($5::timestamptz is null or started_at < $5)
            order by started_at desc, id desc
            limit $6
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = functionId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Status ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = filter.ErrorsOnly });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Since ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)filter.Until ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = filter.Limit });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var items = new JsonArray();
        while (await reader.ReadAsync(cancellationToken))
        {
            var item = new JsonObject
            {
                ["id"] = reader.GetGuid(0).ToString("N"),
                ["version"] = reader.GetInt32(1),
                ["startedAt"] = reader.GetFieldValue<DateTimeOffset>(2),
                ["durationMs"] = Math.Round(reader.GetDouble(3), 3),
                ["trigger"] = reader.GetString(14),
                ["method"] = reader.IsDBNull(4) ? null : reader.GetString(4),
                ["path"] = reader.IsDBNull(5) ? null : reader.GetString(5),
                ["status"] = reader.GetInt32(6),
                ["memoryBytes"] = reader.IsDBNull(10) ? null : reader.GetInt64(10),
                ["callerKind"] = reader.GetString(11),
                ["userId"] = reader.IsDBNull(12) ? null : reader.GetString(12),
                ["error"] = reader.IsDBNull(7) ? null : new JsonObject
                {
                    ["code"] = reader.GetString(7),
                    ["message"] = reader.IsDBNull(8) ? null : reader.GetString(8),
                    ["stack"] = reader.IsDBNull(9) ? null : reader.GetString(9),
                },
                ["logs"] = JsonNode.Parse(reader.GetString(13)),
            };
            items.Add(item);
        }

        return items;
    }

    /// <summary>Invocation totals over all functions of an app (MolnOS <c>GET /functions/stats</c>).</summary>
    public async Task<JsonObject> AppTotalsAsync(string appId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select count(*)::bigint, count(*) filter (where i.status >= 500)::bigint, avg(i.duration_ms), max(i.started_at)
            from isola.invocations i join isola.functions f on f.id = i.function_id
            where f.app_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var count = reader.GetInt64(0);
        var errors = reader.GetInt64(1);
        return new JsonObject
        {
            ["count"] = count,
            ["errors"] = errors,
            ["errorRate"] = count == 0 ? 0 : Math.Round((double)errors / count, 4),
            ["avgDurationMs"] = reader.IsDBNull(2) ? null : Math.Round(reader.GetDouble(2), 3),
            ["lastInvocationAt"] = reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
        };
    }

    public async Task<JsonObject> StatsAsync(Guid functionId, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select count(*)::bigint,
                   count(*) filter (where status >= 500)::bigint,
                   avg(duration_ms),
                   percentile_cont(array[0.5, 0.95, 0.99]) within group (order by duration_ms),
                   max(started_at)
            from isola.invocations
            where function_id = $1 and ($2::timestamptz is null or started_at >= $2)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = functionId });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)since ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var count = reader.GetInt64(0);
        var errors = reader.GetInt64(1);
        var percentiles = reader.IsDBNull(3) ? null : reader.GetFieldValue<double[]>(3);
        return new JsonObject
        {
            ["invocations"] = count,
            ["errors"] = errors,
            ["errorRate"] = count == 0 ? 0 : Math.Round((double)errors / count, 4),
            ["durationMs"] = new JsonObject
            {
                ["avg"] = reader.IsDBNull(2) ? null : Math.Round(reader.GetDouble(2), 3),
                ["p50"] = percentiles is null ? null : Math.Round(percentiles[0], 3),
                ["p95"] = percentiles is null ? null : Math.Round(percentiles[1], 3),
                ["p99"] = percentiles is null ? null : Math.Round(percentiles[2], 3),
            },
            ["lastInvocationAt"] = reader.IsDBNull(4) ? null : reader.GetFieldValue<DateTimeOffset>(4),
        };
    }
}
