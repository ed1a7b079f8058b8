using System.Text.Json;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Runs SQL against an app's database as a caller (docs/data.md): a pooled connection of that role's
/// login and a <see cref="SqlSession"/> (role, signed claims, statement_timeout from the deadline,
/// a cap on the result's size). One statement is its own transaction: the setup and the statement go
/// in one batch, which PostgreSQL runs as one implicit transaction, so it costs one round trip.
/// </summary>
internal sealed class SqlExecutor(AppDatabases databases, TimeProvider time)
{
    public async Task<SqlResult> ExecuteAsync(string appId, DbCaller caller, string sql, IReadOnlyList<JsonElement> parameters,
        DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        if (deadline <= time.GetUtcNow())
        {
            throw new SqlExecutionException(SqlFailure.Timeout, "the deadline passed before the statement was sent");
        }

        await using var session = await SqlSession.BeginAsync(databases, appId, caller, time, cancellationToken, explicitTransaction: false);
        return await session.ExecuteAsync(sql, parameters, deadline, cancellationToken);
    }

    /// <summary>Opens a transaction for several statements (ctx.db.transaction, a typed function's); the caller commits or rolls back.</summary>
    public Task<SqlSession> BeginAsync(string appId, DbCaller caller, CancellationToken cancellationToken, TransactionShape? shape = null) =>
        SqlSession.BeginAsync(databases, appId, caller, time, cancellationToken, explicitTransaction: true, shape);

    /// <summary>A session whose statements each commit on their own (one batch, one implicit transaction, each).</summary>
    public Task<SqlSession> OpenAsync(string appId, DbCaller caller, CancellationToken cancellationToken, TransactionShape? shape = null) =>
        SqlSession.BeginAsync(databases, appId, caller, time, cancellationToken, explicitTransaction: false, shape);
}
