using System.Runtime.CompilerServices;
using System.Text.Json;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Data.FunctionDb;
using Isola.Host.Observability;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Deliveries;

/// <summary>
/// Ties events emitted and calls scheduled inside <c>ctx.db.transaction</c> to that transaction's fate
/// (decision 018). The transaction runs in the app's database, the rows go to the platform's: they are written at
/// once but <em>held</em>, marked with the app transaction's id (<c>pg_current_xact_id()</c>), and released when it
/// commits or deleted when it rolls back. Should the node die in between, <see cref="ResolveAsync"/> asks the app
/// database how that transaction ended (<c>pg_xact_status</c>), so a committed emit is never lost and a rolled-back
/// one never delivered.
/// </summary>
internal sealed partial class TransactionHolds(DeliveryStore store, SqlExecutor executor, DbTransactions transactions, ILogger<TransactionHolds> logger)
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private readonly ConditionalWeakTable<SqlSession, Task<string>> _xids = [];

    /// <summary>
    /// For a call made inside <c>ctx.db.transaction</c> (its args carry <c>tx</c>): the transaction's id to hold rows
    /// under. Null for a call outside one, whose rows are ready at once.
    /// </summary>
    public async Task<string?> HeldXidAsync(HostCall call, CancellationToken cancellationToken)
    {
        if (call.Args.ValueKind != JsonValueKind.Object || !call.Args.TryGetProperty("tx", out var tx) || tx.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        var session = transactions.Get(call.Capability, tx.GetString());
        try
        {
            return await HoldAsync(call.Grant.AppId, session, DateTimeOffset.UtcNow < call.Grant.Deadline ? call.Grant.Deadline : call.Grant.ExpiresAt, cancellationToken);
        }
        catch (SqlExecutionException ex)
        {
            throw DbCallHandler.ToCallError(ex);
        }
    }

    /// <summary>
    /// The id of <paramref name="session"/>'s transaction, to hold rows under; the first call also arranges for the
    /// holds to be settled when the transaction ends.
    /// </summary>
    public Task<string> HoldAsync(string appId, SqlSession session, DateTimeOffset deadline, CancellationToken cancellationToken) =>
        _xids.GetValue(session, s => BeginHoldAsync(appId, s, deadline, cancellationToken));

    /// <summary>
    /// Settles the holds of an app transaction that nobody settled (its node died between COMMIT and the release, or
    /// the COMMIT's answer was lost): released if it committed, dropped if it did not, left alone while it is open.
    /// </summary>
    public async Task ResolveAsync(string appId, string xid, CancellationToken cancellationToken)
    {
        var result = await executor.ExecuteAsync(appId, DbCaller.Service, "select pg_xact_status($1::text::xid8)::text as status",
            [JsonSerializer.SerializeToElement(xid)], DateTimeOffset.UtcNow + SettleTimeout, cancellationToken);
        var status = result.Rows.Count == 1 ? result.Rows[0]["status"]?.GetValue<string>() : null;
        switch (status)
        {
            case "in progress":
                return;
            case "committed":
                await store.SettleHoldAsync(appId, xid, committed: true, cancellationToken);
                break;
            default:
                // Aborted, or so old that PostgreSQL no longer knows (NULL): it did not commit recently enough to matter.
                await store.SettleHoldAsync(appId, xid, committed: false, cancellationToken);
                break;
        }

        LogResolved(logger, appId, xid, status ?? "unknown");
    }

    private async Task<string> BeginHoldAsync(string appId, SqlSession session, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var result = await session.ExecuteAsync("select pg_current_xact_id()::text as xid", [], deadline, cancellationToken);
        var xid = result.Rows[0]["xid"]!.GetValue<string>();
        session.OnEnd(ending => SettleAsync(appId, xid, ending));
        return xid;
    }

    private async Task SettleAsync(string appId, string xid, SqlSession.Ending ending)
    {
        if (ending == SqlSession.Ending.Unknown)
        {
            return; // ResolveAsync asks the server later.
        }

        try
        {
            using var timeout = new CancellationTokenSource(SettleTimeout);
            await store.SettleHoldAsync(appId, xid, ending == SqlSession.Ending.Committed, timeout.Token);
        }
        catch (Exception ex)
        {
            // The platform database is unreachable: the rows stay held until ResolveAsync settles them.
            LogSettleFailed(logger, appId, xid, ex.Message);
        }
    }

    [LoggerMessage(EventId = LogEvents.HeldRowsSettleFailed, Level = LogLevel.Warning, Message = "Could not settle what app {App} transaction {Xid} held ({Reason}); resolved later from its status")]
    private static partial void LogSettleFailed(ILogger logger, string app, string xid, string reason);

    [LoggerMessage(EventId = LogEvents.HeldRowsResolved, Level = LogLevel.Information, Message = "Settled what app {App} transaction {Xid} held after the fact: {Status}")]
    private static partial void LogResolved(ILogger logger, string app, string xid, string status);
}
