using System.Security.Cryptography;
using System.Text;
using Isola.Host.Observability;
using Npgsql;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Schema management of an app database (feature D6): a named migration runs once, as the app's owner,
/// in one transaction with its record (name, SHA-256 checksum, time), under a lock that serialises
/// the app's migrations across nodes.
/// </summary>
internal sealed partial class AppMigrations(AppDatabases databases, ILogger<AppMigrations> logger)
{
    // Transaction-scoped advisory locks are per database, so one key serves every app.
    private const long LockKey = 0x15014_0002;

    public enum Outcome
    {
        /// <summary>New name: applied and recorded.</summary>
        Applied,

        /// <summary>Same name, same SQL: nothing ran.</summary>
        AlreadyApplied,

        /// <summary>Same name, different SQL: nothing ran.</summary>
        Conflict,
    }

    public sealed record Applied(string Name, string Checksum, DateTimeOffset AppliedAt);

    public static string Checksum(string sql) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)));

    /// <summary>Applies the migration; a failing one throws <see cref="SqlExecutionException"/> and leaves nothing behind.</summary>
    public async Task<(Outcome Outcome, Applied Record)> ApplyAsync(string appId, string name, string sql, CancellationToken cancellationToken)
    {
        var checksum = Checksum(sql);
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(databases.Options.MigrationTimeout);
        try
        {
            await using var connection = await databases.Migrator(appId).OpenConnectionAsync(cancel.Token);
            await using var transaction = await connection.BeginTransactionAsync(cancel.Token);
            await ExecuteAsync(connection, $"select pg_advisory_xact_lock({LockKey})", cancel.Token);
            if (await FindAsync(connection, name, cancel.Token) is { } existing)
            {
                return (existing.Checksum == checksum ? Outcome.AlreadyApplied : Outcome.Conflict, existing);
            }

            await ExecuteAsync(connection, $"set local role {AppDatabaseNames.Quote(databases.Names.Owner(appId))}", cancel.Token);
            await RunMigrationAsync(connection, sql, cancel.Token);
            // The migration may have changed role or search_path; the record is written as the migrator.
            await ExecuteAsync(connection, "reset role", cancel.Token);
            await using var record = new NpgsqlCommand(
                "insert into isola_migrations.schema_migrations (name, checksum) values ($1, $2) returning applied_at", connection);
            record.Parameters.Add(new NpgsqlParameter { Value = name });
            record.Parameters.Add(new NpgsqlParameter { Value = checksum });
            var appliedAt = (DateTime)(await record.ExecuteScalarAsync(cancel.Token))!;
            await transaction.CommitAsync(cancel.Token);
            LogApplied(logger, appId, name);
            return (Outcome.Applied, new Applied(name, checksum, new DateTimeOffset(appliedAt, TimeSpan.Zero)));
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new SqlExecutionException(SqlFailure.Timeout, $"the migration ran past {databases.Options.MigrationTimeout} and was rolled back", ex);
        }
        catch (NpgsqlException ex) when (ex is not PostgresException)
        {
            throw new SqlExecutionException(SqlFailure.Unavailable, $"the app database is unavailable: {ex.Message}", ex);
        }
    }

    public async Task<IReadOnlyList<Applied>> ListAsync(string appId, CancellationToken cancellationToken)
    {
        await using var connection = await databases.Migrator(appId).OpenConnectionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "select name, checksum, applied_at from isola_migrations.schema_migrations order by applied_at, name", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<Applied>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new Applied(reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return list;
    }

    /// <summary>
    /// Sends the statements as one batch, each on its own (PostgreSQL runs them in our transaction);
    /// splitting here rather than in Npgsql tells which one failed, so PostgreSQL's error position
    /// (relative to that statement) becomes a position in the text the operator sent.
    /// </summary>
    private static async Task RunMigrationAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        var statements = SqlScript.Split(sql);
        if (statements.Count == 0)
        {
            return;
        }

        await using var batch = new NpgsqlBatch(connection);
        foreach (var statement in statements)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(statement.Text));
        }

        try
        {
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException ex)
        {
            int? position = null;
            if (ex.Position > 0)
            {
                var failed = ex.BatchCommand is { } command ? batch.BatchCommands.IndexOf(command) : -1;
                position = (failed >= 0 ? statements[failed].Offset : 0) + ex.Position;
            }

            throw new SqlExecutionException(SqlFailure.Statement, ex.MessageText, ex)
            {
                SqlState = ex.SqlState,
                Detail = ex.Detail,
                Hint = ex.Hint,
                Position = position,
            };
        }
    }

    private static async Task<Applied?> FindAsync(NpgsqlConnection connection, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "select checksum, applied_at from isola_migrations.schema_migrations where name = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new Applied(name, reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1))
            : null;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(EventId = LogEvents.AppMigrationApplied, Level = LogLevel.Information, Message = "App {App}: applied migration {Name}")]
    private static partial void LogApplied(ILogger logger, string app, string name);
}
