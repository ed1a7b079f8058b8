using System.Data;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Errors;
using Npgsql;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// One transaction in an app's database as one caller. Every statement goes in a batch behind
/// <c>set_config('role', …, true)</c>, the signed claims and a <c>statement_timeout</c> from the
/// deadline, so whatever a previous statement did to its role or claims (RESET ROLE, set_config) is
/// undone before the next one runs. A batch command is never split, so each is exactly one statement.
/// </summary>
internal sealed class SqlSession : IAsyncDisposable
{
    // Past the statement_timeout, the client cancels too (a dead server never answers a timeout).
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(2);

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction? _transaction;
    private readonly DbCaller _caller;
    private readonly string _claimsSignature;
    private readonly AppDatabases _databases;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly bool _readOnly;
    private SqlExecutionException? _failure;

    private SqlSession(NpgsqlConnection connection, NpgsqlTransaction? transaction, DbCaller caller, string claimsSignature, AppDatabases databases, TimeProvider time,
        bool readOnly)
    {
        _connection = connection;
        _transaction = transaction;
        _caller = caller;
        _claimsSignature = claimsSignature;
        _databases = databases;
        _time = time;
        _readOnly = readOnly;
    }

    /// <summary>How an explicit transaction ended, for work that must follow its fate (events and calls it scheduled).</summary>
    public enum Ending
    {
        Committed,
        RolledBack,

        /// <summary>COMMIT was sent but no answer came (the connection broke): only the server knows.</summary>
        Unknown,
    }

    private List<Func<Ending, Task>>? _onEnd;

    public DbCaller Caller => _caller;

    /// <summary>Each statement also notes which tables its transaction has read so far (<see cref="ReadTables"/>), for live queries.</summary>
    public bool TracksReads { get; init; }

    /// <summary>
    /// Tables (<c>schema.table</c>) the session's statements scanned, from PostgreSQL's own per-transaction counters
    /// (<c>pg_stat_xact_user_tables</c>), read in each statement's batch: every table a statement read, whether named,
    /// behind a view, or in a row-level security policy. Filled only when <see cref="TracksReads"/>.
    /// </summary>
    public IReadOnlySet<string> ReadTables => _readTables;

    private readonly HashSet<string> _readTables = new(StringComparer.Ordinal);

    /// <summary>A statement of this transaction failed: PostgreSQL has aborted it, and COMMIT would only roll it back.</summary>
    public bool Failed => _failure is not null;

    /// <summary>
    /// Runs <paramref name="callback"/> once the transaction commits or rolls back, before CommitAsync or RollbackAsync
    /// returns. A callback must not throw; one whose transaction just ends with its connection (disposed unfinished)
    /// is never called.
    /// </summary>
    public void OnEnd(Func<Ending, Task> callback)
    {
        lock (_oneAtATime)
        {
            (_onEnd ??= []).Add(callback);
        }
    }

    /// <summary>
    /// Opens a session. With <paramref name="explicitTransaction"/> false it is for one statement: the
    /// setup and the statement go in one batch, which PostgreSQL runs as one implicit transaction
    /// (everything up to the protocol's Sync), so there is no BEGIN and no COMMIT round trip.
    /// </summary>
    public static async Task<SqlSession> BeginAsync(AppDatabases databases, string appId, DbCaller caller, TimeProvider time, CancellationToken cancellationToken,
        bool explicitTransaction = true, TransactionShape? shape = null)
    {
        NpgsqlConnection? connection = null;
        try
        {
            var pool = caller.BindingLogin is { } login ? databases.ForBinding(appId, login) : databases.For(appId, caller.Role);
            connection = await pool.OpenConnectionAsync(cancellationToken);
            // Npgsql sends BEGIN with the first statement, so beginning costs no round trip of its own.
            var transaction = explicitTransaction ? await connection.BeginTransactionAsync(shape?.Isolation ?? IsolationLevel.ReadCommitted, cancellationToken) : null;
            return new SqlSession(connection, transaction, caller, databases.Signer.Sign(databases.Names.Database(appId), caller.ClaimsJson), databases, time,
                shape?.ReadOnly == true)
            {
                TracksReads = shape?.TrackReads == true,
            };
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            throw new SqlExecutionException(SqlFailure.Unavailable, $"the app database is unavailable: {ex.Message}", ex);
        }
    }

    private const string Setup = """
        select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
               set_config('request.jwt.claims_sig', $3, true), set_config('statement_timeout', $4, true)
        """;

    private const string SetupReadOnly = """
        select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
               set_config('request.jwt.claims_sig', $3, true), set_config('statement_timeout', $4, true),
               set_config('transaction_read_only', 'on', true)
        """;

    private const string ReadTablesSql = """
        select schemaname || '.' || relname from pg_stat_xact_user_tables
        where seq_scan + coalesce(idx_scan, 0) > 0 and schemaname not in ('auth', 'isola_migrations', 'isola_live')
        """;

    /// <summary>Runs one statement; a failure leaves the transaction aborted (roll it back).</summary>
    public async Task<SqlResult> ExecuteAsync(string sql, IReadOnlyList<JsonElement> parameters, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        try
        {
            return await ExecuteCoreAsync(sql, parameters, deadline, cancellationToken);
        }
        catch (SqlExecutionException ex) when (_transaction is not null)
        {
            // Whatever failed on the server aborted the transaction; COMMIT must not pretend otherwise.
            _failure ??= ex;
            throw;
        }
    }

    private async Task<SqlResult> ExecuteCoreAsync(string sql, IReadOnlyList<JsonElement> parameters, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var remaining = deadline - _time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            throw new SqlExecutionException(SqlFailure.Timeout, "the deadline passed before the statement was sent");
        }

        // statement_timeout is in whole milliseconds and 0 would mean "none".
        var timeoutMs = Math.Max(1, (long)Math.Ceiling(remaining.TotalMilliseconds));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(remaining + CancelGrace);
        // One connection runs one command at a time: statements of one transaction queue here.
        await _oneAtATime.WaitAsync(cancel.Token);
        try
        {
            await using var batch = new NpgsqlBatch(_connection, _transaction);
            // Read-only may be switched on at any point of a transaction (off only before its first query), so the
            // statement cannot switch it off again.
            var setup = new NpgsqlBatchCommand(_readOnly ? SetupReadOnly : Setup);
            setup.Parameters.Add(new NpgsqlParameter { Value = _caller.RoleName });
            setup.Parameters.Add(new NpgsqlParameter { Value = _caller.ClaimsJson });
            setup.Parameters.Add(new NpgsqlParameter { Value = _claimsSignature });
            setup.Parameters.Add(new NpgsqlParameter { Value = timeoutMs.ToString(CultureInfo.InvariantCulture) });
            batch.BatchCommands.Add(setup);
            var statement = new NpgsqlBatchCommand(sql);
            foreach (var parameter in parameters)
            {
                statement.Parameters.Add(PgJson.Parameter(parameter));
            }

            batch.BatchCommands.Add(statement);
            if (TracksReads)
            {
                // In the same transaction as the statement: the counters are per transaction and read before it ends.
                batch.BatchCommands.Add(new NpgsqlBatchCommand(ReadTablesSql));
            }

            SqlResult result;
            var reader = await batch.ExecuteReaderAsync(CommandBehavior.Default, cancel.Token);
            SqlExecutionException? tooLarge = null;
            try
            {
                await reader.NextResultAsync(cancel.Token);
                result = await ReadAsync(reader, batch, cancel.Token);
                await reader.NextResultAsync(cancel.Token);
                result = result with { RowCount = (long)statement.Rows };
                if (TracksReads)
                {
                    while (await reader.ReadAsync(cancel.Token))
                    {
                        _readTables.Add(reader.GetString(0));
                    }

                    await reader.NextResultAsync(cancel.Token);
                }
            }
            catch (SqlExecutionException ex) when (ex.Failure == SqlFailure.ResultTooLarge)
            {
                tooLarge = ex;
                throw;
            }
            finally
            {
                try
                {
                    await reader.DisposeAsync();
                }
                catch (PostgresException) when (tooLarge is not null)
                {
                    // The cancellation we asked for; the caller hears about the size, not about 57014.
                }
            }

            return result;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.QueryCanceled)
        {
            throw new SqlExecutionException(SqlFailure.Timeout,
                $"the statement ran past its deadline ({timeoutMs} ms) and was cancelled in PostgreSQL", ex) { SqlState = ex.SqlState };
        }
        catch (PostgresException ex)
        {
            throw FromPostgres(ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SqlExecutionException(SqlFailure.Timeout, $"the statement ran past its deadline ({timeoutMs} ms) and was cancelled", ex);
        }
        catch (Exception ex) when (ex is InvalidCastException or OverflowException or JsonException)
        {
            // A value with no JSON form (numeric beyond decimal's 28 digits, infinite timestamps, an unmapped type).
            throw new SqlExecutionException(SqlFailure.Statement, ex.Message, ex);
        }
        catch (NpgsqlException ex)
        {
            throw new SqlExecutionException(SqlFailure.Unavailable, $"the app database is unavailable: {ex.Message}", ex);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        if (_transaction is null)
        {
            return; // one implicit transaction per batch: committed when it ended
        }

        if (_failure is { } failure)
        {
            // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK and no error: say so instead.
            await RollbackAsync();
            throw new SqlExecutionException(SqlFailure.Statement, $"nothing was committed: a statement of the transaction failed ({failure.Message})", failure)
            {
                SqlState = failure.SqlState ?? PostgresErrorCodes.InFailedSqlTransaction,
            };
        }

        try
        {
            await _transaction.CommitAsync(cancellationToken);
        }
        catch (PostgresException ex)
        {
            // A deferred constraint or a serialization failure surfaces at COMMIT. Whether the server committed is
            // asked of the server itself (pg_xact_status) rather than guessed from the error.
            await EndedAsync(Ending.Unknown);
            throw FromPostgres(ex);
        }
        catch (NpgsqlException ex)
        {
            await EndedAsync(Ending.Unknown);
            throw new SqlExecutionException(SqlFailure.Unavailable, $"the app database is unavailable: {ex.Message}", ex);
        }

        await EndedAsync(Ending.Committed);
    }

    /// <summary>Rolls back; never throws (a broken connection has rolled back already).</summary>
    public async Task RollbackAsync()
    {
        if (_transaction is null)
        {
            return;
        }

        try
        {
            await _transaction.RollbackAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
        }

        // Rolled back, or never committed on a connection that broke: either way nothing of it stays.
        await EndedAsync(Ending.RolledBack);
    }

    private async Task EndedAsync(Ending ending)
    {
        List<Func<Ending, Task>>? callbacks;
        lock (_oneAtATime)
        {
            callbacks = _onEnd;
            _onEnd = null;
        }

        foreach (var callback in callbacks ?? [])
        {
            await callback(ending);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
        }

        await _connection.DisposeAsync();
    }

    private async Task<SqlResult> ReadAsync(NpgsqlDataReader reader, NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        var fields = new SqlField[reader.FieldCount];
        for (var i = 0; i < fields.Length; i++)
        {
            fields[i] = new SqlField(reader.GetName(i), reader.GetPostgresType(i).InternalName);
        }

        var cap = _databases.Options.MaxResultBytes;
        long size = 0;
        var rows = new List<JsonObject>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = new JsonObject();
            for (var i = 0; i < fields.Length; i++)
            {
                // Duplicate column names: the last one wins, as in node-postgres.
                row[fields[i].Name] = PgJson.Read(reader, i, out var valueSize);
                size += valueSize + fields[i].Name.Length;
            }

            rows.Add(row);
            if (size > cap)
            {
                // Stop PostgreSQL producing the rest; the reader's disposal then has nothing left to drain.
                batch.Cancel();
                throw new SqlExecutionException(SqlFailure.ResultTooLarge,
                    $"the result passed {cap} bytes after {rows.Count} rows and was cancelled; select fewer rows or columns (limit, pagination)");
            }
        }

        return new SqlResult(rows, rows.Count, fields);
    }

    private static SqlExecutionException FromPostgres(PostgresException ex) =>
        new(SqlFailure.Statement, ex.MessageText, ex)
        {
            SqlState = ex.SqlState,
            Detail = ex.Detail,
            Hint = ex.Hint,
            Position = ex.Position > 0 ? ex.Position : null,
        };
}
