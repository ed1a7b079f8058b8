using System.Data;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Npgsql;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Runs one statement against an app's database as a caller (DESIGN fixed decision 4): a pooled
/// connection of that role's login, one transaction, <c>set_config('role', …, true)</c> and the
/// signed claims, bound parameters, <c>statement_timeout</c> from the deadline, and a cap on the
/// result's size. The setup and the statement go in one batch: one round trip plus the COMMIT.
/// </summary>
internal sealed class SqlExecutor(AppDatabases databases, TimeProvider time)
{
    // Past the statement_timeout, the client cancels too (a dead server never answers a timeout).
    private static readonly TimeSpan CancelGrace = TimeSpan.FromSeconds(2);

    public async Task<SqlResult> ExecuteAsync(string appId, DbCaller caller, string sql, IReadOnlyList<JsonElement> parameters,
        DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var remaining = deadline - time.GetUtcNow();
        if (remaining <= TimeSpan.Zero)
        {
            throw new SqlExecutionException(SqlFailure.Timeout, "the deadline passed before the statement was sent");
        }

        // statement_timeout is in whole milliseconds and 0 would mean "none".
        var timeoutMs = Math.Max(1, (long)Math.Ceiling(remaining.TotalMilliseconds));
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancel.CancelAfter(remaining + CancelGrace);
        var database = databases.Names.Database(appId);
        try
        {
            await using var connection = await databases.For(appId, caller.Role).OpenConnectionAsync(cancel.Token);
            await using var transaction = await connection.BeginTransactionAsync(cancel.Token);
            await using var batch = new NpgsqlBatch(connection, transaction);
            var setup = new NpgsqlBatchCommand("""
                select set_config('role', $1, true), set_config('request.jwt.claims', $2, true),
                       set_config('request.jwt.claims_sig', $3, true), set_config('statement_timeout', $4, true)
                """);
            setup.Parameters.Add(new NpgsqlParameter { Value = caller.RoleName });
            setup.Parameters.Add(new NpgsqlParameter { Value = caller.ClaimsJson });
            setup.Parameters.Add(new NpgsqlParameter { Value = databases.Signer.Sign(database, caller.ClaimsJson) });
            setup.Parameters.Add(new NpgsqlParameter { Value = timeoutMs.ToString(CultureInfo.InvariantCulture) });
            batch.BatchCommands.Add(setup);
            // A batch command is never rewritten or split by Npgsql, so PostgreSQL sees exactly one
            // statement: "a; b" fails with "cannot insert multiple commands into a prepared statement".
            var statement = new NpgsqlBatchCommand(sql);
            foreach (var parameter in parameters)
            {
                statement.Parameters.Add(PgJson.Parameter(parameter));
            }

            batch.BatchCommands.Add(statement);
            SqlResult result;
            var reader = await batch.ExecuteReaderAsync(CommandBehavior.Default, cancel.Token);
            SqlExecutionException? tooLarge = null;
            try
            {
                await reader.NextResultAsync(cancel.Token);
                result = await ReadAsync(reader, batch, cancel.Token);
                await reader.NextResultAsync(cancel.Token);
                result = result with { RowCount = (long)statement.Rows };
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

            await transaction.CommitAsync(cancel.Token);
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
    }

    private async Task<SqlResult> ReadAsync(NpgsqlDataReader reader, NpgsqlBatch batch, CancellationToken cancellationToken)
    {
        var fields = new SqlField[reader.FieldCount];
        for (var i = 0; i < fields.Length; i++)
        {
            fields[i] = new SqlField(reader.GetName(i), reader.GetPostgresType(i).InternalName);
        }

        var cap = databases.Options.MaxResultBytes;
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
