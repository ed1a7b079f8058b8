using Npgsql;
using NpgsqlTypes;

namespace Isola.Host.Triggers.Cron;

/// <summary>
/// The cron rows in PostgreSQL: which functions have cron triggers, and one row per tick, claimed with
/// <c>INSERT … ON CONFLICT DO NOTHING</c> against the database clock so that every node agrees on which
/// one runs a tick, and on whether it is due yet.
/// </summary>
internal sealed class CronTickStore(NpgsqlDataSource dataSource)
{
    public const string Running = "running";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
    public const string Skipped = "skipped";

    /// <summary>A function's current version that has a cron trigger; one per trigger.</summary>
    public sealed record CronFunction(CronKey Key, string AppId, string Name, int Version, DateTimeOffset VersionCreatedAt);

    /// <summary>How a claim went. <paramref name="Status"/> is null when the row was not inserted.</summary>
    /// <param name="DatabaseNow">The database clock when the claim ran: a node whose clock is ahead learns the tick is not due yet.</param>
    public sealed record Claim(string? Status, string? Detail, DateTimeOffset DatabaseNow);

    /// <summary>A tick row, for a function's GET.</summary>
    public sealed record Tick(CronKey Key, DateTimeOffset ScheduledAt, int Version, string Node, string Status, Guid? InvocationId, DateTimeOffset? FinishedAt, string? Detail);

    /// <summary>Every cron trigger of every function's current version, and the database clock.</summary>
    public async Task<(IReadOnlyList<CronFunction> Functions, DateTimeOffset DatabaseNow)> LoadAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select clock.now, c.id, c.app_id, c.name, c.current_version, c.created_at, c.schedule, c.timezone
            from (select clock_timestamp() as now) clock
            left join (
                select f.id, f.app_id, f.name, f.current_version, v.created_at,
                       t->'config'->>'schedule' as schedule, coalesce(t->'config'->>'timezone', 'UTC') as timezone
                from isola.functions f
                join isola.function_versions v on v.function_id = f.id and v.version = f.current_version
                cross join lateral jsonb_array_elements(v.settings->'triggers') t
                where t->>'type' = 'cron' and t->'config'->>'schedule' is not null
            ) c on true
            """);
        var functions = new List<CronFunction>();
        var now = DateTimeOffset.MinValue;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            now = reader.GetFieldValue<DateTimeOffset>(0);
            if (!reader.IsDBNull(1))
            {
                functions.Add(new CronFunction(new CronKey(reader.GetGuid(1), reader.GetString(6), reader.GetString(7)),
                    reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetFieldValue<DateTimeOffset>(5)));
            }
        }

        return (functions, now);
    }

    /// <summary>
    /// Claims <paramref name="tick"/> when it is due by the database clock and no older than <paramref name="grace"/>.
    /// The row is <see cref="Running"/>, or <see cref="Skipped"/> when an earlier run of the same trigger (on any
    /// node) is still going; nothing is inserted when another node claimed the tick first.
    /// </summary>
    public async Task<Claim> ClaimAsync(CronKey key, DateTimeOffset tick, int version, string node, Guid invocationId, TimeSpan lease, TimeSpan grace,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            with previous as (
                select scheduled_at, node from isola.cron_ticks
                where function_id = $1 and schedule = $2 and timezone = $3 and status = 'running'
                  and lease_until > clock_timestamp() and scheduled_at < $4
                order by scheduled_at desc
                limit 1
            ), claimed as (
                insert into isola.cron_ticks (function_id, schedule, timezone, scheduled_at, version, node, status, invocation_id, lease_until, detail)
                select $1, $2, $3, $4, $5, $6,
                       case when p.scheduled_at is null then 'running' else 'skipped' end,
                       case when p.scheduled_at is null then $7 end,
                       clock_timestamp() + case when p.scheduled_at is null then $8 else interval '0' end,
                       case when p.scheduled_at is not null then
                           'the run of the tick at ' || to_char(p.scheduled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') ||
                           ' (node ' || p.node || ') was still going' end
                from (select 1) one
                left join previous p on true
                where $4 <= clock_timestamp() and $4 > clock_timestamp() - $9
                on conflict do nothing
                returning status, detail
            )
            select (select status from claimed), (select detail from claimed), clock_timestamp()
            """);
        AddKey(command, key);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = tick, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = version });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node });
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = invocationId });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = lease, NpgsqlDbType = NpgsqlDbType.Interval });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = grace, NpgsqlDbType = NpgsqlDbType.Interval });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new Claim(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2));
    }

    /// <summary>Says how a run this node claimed ended; the trigger's next tick may run from now on.</summary>
    public async Task FinishAsync(CronKey key, DateTimeOffset tick, string status, string? detail, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            update isola.cron_ticks set status = $5, detail = $6, finished_at = clock_timestamp()
            where function_id = $1 and schedule = $2 and timezone = $3 and scheduled_at = $4 and status = 'running'
            """);
        AddKey(command, key);
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset> { TypedValue = tick, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = status });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)detail ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Deletes tick rows older than <paramref name="retention"/>, except runs whose lease still holds; returns how many.</summary>
    public async Task<int> DeleteOldAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            delete from isola.cron_ticks
            where scheduled_at < clock_timestamp() - $1 and (status <> 'running' or lease_until < clock_timestamp())
            """);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = retention, NpgsqlDbType = NpgsqlDbType.Interval });
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The latest <paramref name="perTrigger"/> ticks of each cron trigger of a function, newest first.</summary>
    public async Task<IReadOnlyList<Tick>> RecentAsync(Guid functionId, int perTrigger, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select schedule, timezone, scheduled_at, version, node, status, invocation_id, finished_at, detail
            from (
                select *, row_number() over (partition by schedule, timezone order by scheduled_at desc) as n
                from isola.cron_ticks where function_id = $1
            ) ranked
            where n <= $2
            order by scheduled_at desc
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = functionId });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = perTrigger });
        var ticks = new List<Tick>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ticks.Add(new Tick(new CronKey(functionId, reader.GetString(0), reader.GetString(1)), reader.GetFieldValue<DateTimeOffset>(2), reader.GetInt32(3),
                reader.GetString(4), reader.GetString(5), reader.IsDBNull(6) ? null : reader.GetGuid(6),
                reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetString(8)));
        }

        return ticks;
    }

    private static void AddKey(NpgsqlCommand command, CronKey key)
    {
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = key.FunctionId });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Schedule });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.TimeZone });
    }
}
