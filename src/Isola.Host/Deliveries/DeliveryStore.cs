using Npgsql;
using NpgsqlTypes;

namespace Isola.Host.Deliveries;

/// <summary>
/// The rows behind events and scheduled calls (<c>isola.events</c>, <c>isola.deliveries</c>): publishing fans out
/// in one statement, nodes claim due rows with <c>FOR UPDATE SKIP LOCKED</c> under a lease, and every time that
/// must agree across nodes is the database's clock.
/// </summary>
internal sealed class DeliveryStore(NpgsqlDataSource dataSource, DeliveryOptions options, ReadySignal ready)
{
    /// <summary>NOTIFY channel: a delivery became ready somewhere; every node's dispatcher looks for due rows (<see cref="ReadySignal"/>).</summary>
    public const string ReadyChannel = "isola_deliveries";

    /// <summary>How a publish went: <see cref="ChainLimit"/> is null when the app does not exist.</summary>
    public sealed record PublishResult(int? ChainLimit, bool Stored, int Subscribers);

    /// <summary>A dead-lettered delivery as <c>GET /v1/{app}/events/dead</c> shows it.</summary>
    public sealed record DeadLetter(long Id, DeliveryKind Kind, string Function, int Attempts, string? LastError, DateTimeOffset? DeadAt,
        DateTimeOffset ScheduledAt, string? ArgsJson, PublishedEvent? Event);

    /// <summary>
    /// Stores the event and one delivery per function of the app whose current version subscribes to
    /// <paramref name="name"/>, in one statement (so one transaction): the event is durable and fanned out
    /// together, or not at all; then the dispatchers are woken. A repeated id stores nothing. With
    /// <paramref name="heldXid"/> the rows wait for that app transaction (decision 018) and nobody is woken.
    /// An event deeper than the app's chain limit is not stored.
    /// </summary>
    public async Task<PublishResult> PublishAsync(string appId, string id, string name, string dataJson, int depth, string? heldXid, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            with app as (
                select coalesce(event_chain_limit, $6) as chain_limit from isola.apps where id = $1
            ), stored as (
                insert into isola.events (app_id, id, name, data, depth, held_xid)
                select $1, $2, $3, $4, $5, $7::xid8 from app where $5 <= app.chain_limit
                on conflict (app_id, id) do nothing
                returning published_at
            ), fanned as (
                insert into isola.deliveries (app_id, kind, function_id, event_id, state, due_at, scheduled_at, max_attempts, backoff_ms, held_xid)
                select distinct on (f.id) $1, 'event', f.id, $2, case when $7::text is null then 'ready' else 'held' end, s.published_at, s.published_at,
                       coalesce((t.trigger -> 'config' ->> 'maxAttempts')::int, $8), coalesce((t.trigger -> 'config' ->> 'backoffMs')::int, $9), $7::xid8
                from stored s
                cross join isola.functions f
                join isola.function_versions v on v.function_id = f.id and v.version = f.current_version
                cross join lateral jsonb_array_elements(v.settings -> 'triggers') as t (trigger)
                where f.app_id = $1 and t.trigger ->> 'type' = 'event' and t.trigger -> 'config' ->> 'eventName' = $3
                order by f.id
                returning 1
            )
            select (select chain_limit from app), (select count(*) from stored)::int, (select count(*) from fanned)::int
            """);
        command.Parameters.Add(Text(appId));
        command.Parameters.Add(Text(id));
        command.Parameters.Add(Text(name));
        command.Parameters.Add(new NpgsqlParameter { Value = dataJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter { Value = depth, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = options.DefaultChainLimit, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(Text(heldXid));
        command.Parameters.Add(new NpgsqlParameter { Value = options.DefaultMaxAttempts, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = options.DefaultBackoffMs, NpgsqlDbType = NpgsqlDbType.Integer });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var result = new PublishResult(reader.IsDBNull(0) ? null : reader.GetInt32(0), reader.GetInt32(1) > 0, reader.GetInt32(2));
        if (heldXid is null && result.Subscribers > 0)
        {
            ready.Raise();
        }

        return result;
    }

    /// <summary>
    /// Stores a scheduled call of <paramref name="functionId"/> at <paramref name="runAt"/>, or after
    /// <paramref name="delay"/> by the database's clock; returns its id.
    /// </summary>
    public async Task<long> ScheduleAsync(string appId, Guid functionId, string argsJson, DateTimeOffset? runAt, TimeSpan? delay, string? heldXid,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            with stored as (
                insert into isola.deliveries (app_id, kind, function_id, args, state, due_at, scheduled_at, max_attempts, backoff_ms, held_xid)
                select $1, 'scheduled', $2, $3, case when $6::text is null then 'ready' else 'held' end, at, at, $7, $8, $6::xid8
                from (select coalesce($4, now() + $5) as at) as due
                returning id
            )
            select id from stored
            """);
        command.Parameters.Add(Text(appId));
        command.Parameters.Add(new NpgsqlParameter { Value = functionId, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = argsJson, NpgsqlDbType = NpgsqlDbType.Jsonb });
        command.Parameters.Add(new NpgsqlParameter { Value = runAt is { } at ? at.UtcDateTime : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter { Value = delay is { } d ? d : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Interval });
        command.Parameters.Add(Text(heldXid));
        command.Parameters.Add(new NpgsqlParameter { Value = options.DefaultMaxAttempts, NpgsqlDbType = NpgsqlDbType.Integer });
        command.Parameters.Add(new NpgsqlParameter { Value = options.DefaultBackoffMs, NpgsqlDbType = NpgsqlDbType.Integer });
        var id = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        if (heldXid is null)
        {
            ready.Raise();
        }

        return id;
    }

    /// <summary>Removes a scheduled call that has not started (or is dead); false when there is none such in the app.</summary>
    public async Task<bool> CancelAsync(string appId, long id, CancellationToken cancellationToken) =>
        await ExecuteOnOneAsync("delete from isola.deliveries where app_id = $1 and id = $2 and kind = 'scheduled' and state in ('held', 'ready', 'dead')",
            appId, id, cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="limit"/> due rows for this node: ready ones whose time has come, and running ones
    /// whose lease ran out (their node died). Each claim counts as an attempt.
    /// </summary>
    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(string nodeId, int limit, CancellationToken cancellationToken)
    {
        await using var batch = Relaxed("""
            with due as (
                select id, app_id, event_id from isola.deliveries
                where state in ('ready', 'running') and due_at <= now()
                order by due_at
                limit $1
                for update skip locked
            )
            update isola.deliveries d
            set state = 'running', due_at = now() + $2, attempts = d.attempts + 1, leased_by = $3
            from due left join isola.events e on e.app_id = due.app_id and e.id = due.event_id
            where d.id = due.id
            returning d.id, d.app_id, d.kind, d.function_id, d.attempts, d.max_attempts, d.backoff_ms, d.scheduled_at, d.args::text,
                      e.id, e.name, e.data::text, e.depth, e.published_at
            """,
            new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer },
            new NpgsqlParameter { Value = options.Lease, NpgsqlDbType = NpgsqlDbType.Interval },
            Text(nodeId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var claimed = new List<ClaimedDelivery>();
        while (await reader.ReadAsync(cancellationToken))
        {
            claimed.Add(new ClaimedDelivery(reader.GetInt64(0), reader.GetString(1), ParseKind(reader.GetString(2)), reader.GetGuid(3), reader.GetInt32(4),
                reader.GetInt32(5), reader.GetInt32(6), reader.GetFieldValue<DateTimeOffset>(7), reader.IsDBNull(8) ? null : reader.GetString(8), ReadEvent(reader, 9)));
        }

        return claimed;
    }

    /// <summary>Time until the earliest ready row is due or a lease runs out (zero if one is due now); null when nothing waits.</summary>
    public async Task<TimeSpan?> NextDueAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select extract(epoch from min(due_at) - now())::float8 from isola.deliveries where state in ('ready', 'running')");
        return await command.ExecuteScalarAsync(cancellationToken) is double seconds
            ? TimeSpan.FromSeconds(Math.Max(0, seconds))
            : null;
    }

    /// <summary>Extends the leases of what this node is running, so nobody else takes them while they run.</summary>
    public async Task RenewAsync(string nodeId, long[] ids, CancellationToken cancellationToken) =>
        await ExecuteRelaxedAsync("update isola.deliveries set due_at = now() + $3 where id = any($1) and leased_by = $2 and state = 'running'", cancellationToken,
            Ids(ids), Text(nodeId), new NpgsqlParameter { Value = options.Lease, NpgsqlDbType = NpgsqlDbType.Interval });

    /// <summary>Delivered: the rows go. A row another node took over after a lost lease goes too; it was delivered.</summary>
    public async Task CompleteAsync(long[] ids, CancellationToken cancellationToken) =>
        await ExecuteRelaxedAsync("delete from isola.deliveries where id = any($1)", cancellationToken, Ids(ids));

    /// <summary>
    /// A failed attempt: due again after <paramref name="retryAfter"/>, or dead-lettered when that is null. Only
    /// while the attempt is still this node's (a lease lost meanwhile means another node owns the row now).
    /// </summary>
    public async Task FailAsync(string nodeId, long id, int attempt, string error, TimeSpan? retryAfter, CancellationToken cancellationToken) =>
        await ExecuteRelaxedAsync("""
            update isola.deliveries
            set state = case when $5::interval is null then 'dead' else 'ready' end,
                due_at = case when $5::interval is null then due_at else now() + $5 end,
                dead_at = case when $5::interval is null then now() end,
                last_error = $4, leased_by = null
            where id = $1 and leased_by = $2 and attempts = $3 and state = 'running'
            """,
            cancellationToken,
            new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Bigint },
            Text(nodeId),
            new NpgsqlParameter { Value = attempt, NpgsqlDbType = NpgsqlDbType.Integer },
            Text(error.Length > 2000 ? error[..2000] : error),
            new NpgsqlParameter { Value = retryAfter is { } delay ? delay : DBNull.Value, NpgsqlDbType = NpgsqlDbType.Interval });

    /// <summary>The node is stopping: hand back what it had not finished, due now and with the attempt not counted.</summary>
    public async Task ReleaseAsync(string nodeId, long[] ids, CancellationToken cancellationToken)
    {
        var released = await ExecuteRelaxedAsync("""
            update isola.deliveries set state = 'ready', due_at = now(), attempts = attempts - 1, leased_by = null
            where id = any($1) and leased_by = $2 and state = 'running'
            """,
            cancellationToken, Ids(ids), Text(nodeId));
        if (released > 0)
        {
            ready.Raise();
        }
    }

    /// <summary>The newest dead letters of an app, events and scheduled calls alike.</summary>
    public async Task<IReadOnlyList<DeadLetter>> ListDeadAsync(string appId, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select d.id, d.kind, f.name, d.attempts, d.last_error, d.dead_at, d.scheduled_at, d.args::text,
                   e.id, e.name, e.data::text, e.depth, e.published_at
            from isola.deliveries d
            join isola.functions f on f.id = d.function_id
            left join isola.events e on e.app_id = d.app_id and e.id = d.event_id
            where d.app_id = $1 and d.state = 'dead'
            order by d.dead_at desc, d.id desc
            limit $2
            """);
        command.Parameters.Add(Text(appId));
        command.Parameters.Add(new NpgsqlParameter { Value = limit, NpgsqlDbType = NpgsqlDbType.Integer });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var dead = new List<DeadLetter>();
        while (await reader.ReadAsync(cancellationToken))
        {
            dead.Add(new DeadLetter(reader.GetInt64(0), ParseKind(reader.GetString(1)), reader.GetString(2), reader.GetInt32(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
                reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetString(7), ReadEvent(reader, 8)));
        }

        return dead;
    }

    /// <summary>Makes a dead letter due now with a fresh set of attempts; false when the app has no such dead letter.</summary>
    public async Task<bool> RetryDeadAsync(string appId, long id, CancellationToken cancellationToken)
    {
        if (!await ExecuteOnOneAsync("update isola.deliveries set state = 'ready', due_at = now(), attempts = 0, dead_at = null where app_id = $1 and id = $2 and state = 'dead'",
            appId, id, cancellationToken))
        {
            return false;
        }

        ready.Raise();
        return true;
    }

    /// <summary>
    /// The app transaction <paramref name="xid"/> ended: when it committed, what it held becomes ready (and
    /// nodes are woken); when it rolled back, what it held is gone, as if never emitted or scheduled. Needs no
    /// WAL flush of its own: rows a crash left held are settled again from the transaction's status.
    /// </summary>
    public async Task SettleHoldAsync(string appId, string xid, bool committed, CancellationToken cancellationToken)
    {
        var settled = await ExecuteRelaxedAsync(committed
            ? """
              with events as (
                  update isola.events set held_xid = null where app_id = $1 and held_xid = $2::xid8
              )
              update isola.deliveries set state = 'ready', held_xid = null
              where app_id = $1 and held_xid = $2::xid8 and state = 'held'
              """
            : """
              with deliveries as (
                  delete from isola.deliveries where app_id = $1 and held_xid = $2::xid8 and state = 'held'
              )
              delete from isola.events where app_id = $1 and held_xid = $2::xid8
              """,
            cancellationToken, Text(appId), Text(xid));
        if (committed && settled > 0)
        {
            ready.Raise();
        }
    }

    /// <summary>App transactions that have held rows for longer than <see cref="DeliveryOptions.HoldCheckAfter"/>.</summary>
    public async Task<IReadOnlyList<(string AppId, string Xid)>> StaleHoldsAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            select app_id, held_xid::text from isola.deliveries where state = 'held' and created_at < now() - $1
            union
            select app_id, held_xid::text from isola.events where held_xid is not null and published_at < now() - $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = options.HoldCheckAfter, NpgsqlDbType = NpgsqlDbType.Interval });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var holds = new List<(string, string)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            holds.Add((reader.GetString(0), reader.GetString(1)));
        }

        return holds;
    }

    /// <summary>Forgets event ids past their retention (once nothing is left to deliver) and dead letters past theirs.</summary>
    public async Task ExpireAsync(CancellationToken cancellationToken) =>
        await ExecuteRelaxedAsync("""
            with dead as (
                delete from isola.deliveries where state = 'dead' and dead_at < now() - $2
            )
            delete from isola.events e
            where e.published_at < now() - $1 and e.held_xid is null
              and not exists (select 1 from isola.deliveries d where d.app_id = e.app_id and d.event_id = e.id)
            """,
            cancellationToken,
            new NpgsqlParameter { Value = options.EventRetention, NpgsqlDbType = NpgsqlDbType.Interval },
            new NpgsqlParameter { Value = options.DeadLetterRetention, NpgsqlDbType = NpgsqlDbType.Interval });

    /// <summary>
    /// A statement whose commit does not wait for the WAL to reach the disk (<c>synchronous_commit = off</c> for its
    /// transaction only). For the dispatchers' own bookkeeping, which a crash may roll back by a few milliseconds
    /// without harm: a lost claim or renewal is claimed again, a lost completion is delivered again (at least once).
    /// Never for a publish or a schedule, which must be on disk before their caller hears of them.
    /// </summary>
    private NpgsqlBatch Relaxed(string sql, params NpgsqlParameter[] parameters)
    {
        var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("select set_config('synchronous_commit', 'off', true)"));
        var statement = new NpgsqlBatchCommand(sql);
        statement.Parameters.AddRange(parameters);
        batch.BatchCommands.Add(statement);
        return batch;
    }

    /// <summary>Runs a <see cref="Relaxed"/> statement; returns the rows it changed.</summary>
    private async Task<int> ExecuteRelaxedAsync(string sql, CancellationToken cancellationToken, params NpgsqlParameter[] parameters)
    {
        await using var batch = Relaxed(sql, parameters);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return batch.BatchCommands[1].RecordsAffected;
    }

    private static NpgsqlParameter Ids(long[] ids) => new() { Value = ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint };

    /// <summary>Runs a durable statement on the delivery <c>$2</c> of the app <c>$1</c>; false when it touched none.</summary>
    private async Task<bool> ExecuteOnOneAsync(string sql, string appId, long id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.Add(Text(appId));
        command.Parameters.Add(new NpgsqlParameter { Value = id, NpgsqlDbType = NpgsqlDbType.Bigint });
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    /// <summary>The event columns (id, name, data, depth, published_at) from <paramref name="first"/> on; null for a scheduled call.</summary>
    private static PublishedEvent? ReadEvent(NpgsqlDataReader reader, int first) => reader.IsDBNull(first)
        ? null
        : new PublishedEvent(reader.GetString(first), reader.GetString(first + 1), reader.GetString(first + 2), reader.GetInt32(first + 3),
            reader.GetFieldValue<DateTimeOffset>(first + 4));

    private static DeliveryKind ParseKind(string kind) => kind == "scheduled" ? DeliveryKind.Scheduled : DeliveryKind.Event;

    private static NpgsqlParameter Text(string? value) => new() { Value = (object?)value ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text };
}
