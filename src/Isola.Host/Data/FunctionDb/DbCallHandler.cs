using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Data.Entities;
using Isola.Host.Errors;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Data.FunctionDb;

/// <summary>
/// <c>ctx.db</c> on the host (docs/data.md): statements from a function run in its app's database
/// as the invocation's caller (anon, authenticated with the token's claims, or service_role), or
/// as whom <c>asUser</c> / <c>asAnon</c> asked for, through <see cref="SqlExecutor"/>. A call runs on its own,
/// inside an open transaction (<c>tx</c>), or begins one (<c>begin</c>, how a typed function's first call opens
/// its mutation's or query's transaction without a round trip of its own). The entity ops go to <see cref="EntityOperations"/>.
/// </summary>
internal sealed class DbCallHandler(
    SqlExecutor executor, DbTransactions transactions, Bindings.DatabaseBindings bindings, EntityOperations entities, ReadSets reads) : IHostCallHandler
{
    public string Family => "db";

    public async ValueTask<JsonNode?> HandleAsync(HostCall call, CancellationToken cancellationToken)
    {
        try
        {
            switch (call.Op)
            {
                case "db.query":
                    return await QueryAsync(call, cancellationToken);
                case "db.begin":
                    var session = await BeginAsync(call, ShapeOf(call.Args), cancellationToken);
                    return new JsonObject { ["tx"] = Register(call, session) };
                case "db.commit":
                    await using (var committing = transactions.Take(call.Capability, TxOf(call.Args)))
                    {
                        await committing.CommitAsync(cancellationToken);
                    }

                    return null;
                case "db.rollback":
                    await using (var rolling = transactions.Take(call.Capability, TxOf(call.Args)))
                    {
                        await rolling.RollbackAsync();
                    }

                    return null;
                default:
                    if (EntityOperations.Ops.Contains(call.Op))
                    {
                        return await InScopeAsync(call, (session, deadline) =>
                            entities.HandleAsync(call, call.Grant.AppId, session.Caller, (sql, parameters) => session.ExecuteAsync(sql, parameters, deadline, cancellationToken),
                                deadline, cancellationToken), cancellationToken);
                    }

                    throw new HostCallException(ErrorCodes.UnknownCall, $"the host does not serve '{call.Op}'");
            }
        }
        catch (SqlExecutionException ex)
        {
            throw ToCallError(ex);
        }
    }

    private static string? TxOf(JsonElement args) =>
        args.ValueKind == JsonValueKind.Object && args.TryGetProperty("tx", out var tx) && tx.ValueKind == JsonValueKind.String ? tx.GetString() : null;

    /// <summary>How <c>db.begin</c>, or a call's <c>begin</c>, asks for its transaction: a mutation's, a query's, or plain.</summary>
    private static TransactionShape? ShapeOf(JsonElement options)
    {
        if (options.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var readOnly = options.TryGetProperty("readOnly", out var r) && r.ValueKind == JsonValueKind.True;
        var serializable = options.TryGetProperty("serializable", out var s) && s.ValueKind == JsonValueKind.True;
        var track = options.TryGetProperty("track", out var t) && t.ValueKind == JsonValueKind.True;
        return readOnly ? TransactionShape.Query(track) : serializable ? TransactionShape.Mutation : null;
    }

    private Task<JsonObject> QueryAsync(HostCall call, CancellationToken cancellationToken)
    {
        var args = call.Args;
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty("sql", out var sqlElement) || sqlElement.ValueKind != JsonValueKind.String)
        {
            throw new HostCallException(ErrorCodes.InvalidArgs, "ctx.db.query needs the SQL text as a string");
        }

        var parameters = new List<JsonElement>();
        if (args.TryGetProperty("params", out var paramsElement) && paramsElement.ValueKind == JsonValueKind.Array)
        {
            parameters.AddRange(paramsElement.EnumerateArray());
        }

        var sql = sqlElement.GetString()!;
        return InScopeAsync(call, async (session, deadline) => Render(await session.ExecuteAsync(sql, parameters, deadline, cancellationToken)), cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> where the call says: inside its open transaction (<c>tx</c>; it runs as whom that
    /// transaction began), in a transaction it begins (<c>begin</c>; the answer carries the new <c>tx</c>, and so does a
    /// failure, since the transaction must still be ended), or on its own (read-only with <c>readOnly</c>, as a typed
    /// query's statements run). A live query's statements (<c>track</c>) note what they read.
    /// </summary>
    private async Task<JsonObject> InScopeAsync(HostCall call, Func<SqlSession, DateTimeOffset, Task<JsonObject>> work, CancellationToken cancellationToken)
    {
        var deadline = DeadlineOf(call.Grant);
        if (TxOf(call.Args) is { } tx)
        {
            var open = transactions.Get(call.Capability, tx);
            try
            {
                return await work(open, deadline);
            }
            finally
            {
                NoteReads(call, open);
            }
        }

        if (call.Args.TryGetProperty("begin", out var begin) && begin.ValueKind == JsonValueKind.Object)
        {
            var session = await BeginAsync(call, ShapeOf(begin), cancellationToken);
            var opened = Register(call, session);
            try
            {
                var answer = await work(session, deadline);
                answer["tx"] = opened;
                return answer;
            }
            catch (SqlExecutionException ex)
            {
                throw WithTx(ToCallError(ex), opened);
            }
            catch (HostCallException ex)
            {
                throw WithTx(ex, opened);
            }
            finally
            {
                NoteReads(call, session);
            }
        }

        // A statement on its own: one implicit transaction, the connection back in the pool as soon as it ends.
        var shape = ShapeOf(call.Args);
        await using var single = await executor.OpenAsync(call.Grant.AppId, CallerFor(call), cancellationToken, shape);
        try
        {
            return await work(single, deadline);
        }
        finally
        {
            NoteReads(call, single);
        }
    }

    private Task<SqlSession> BeginAsync(HostCall call, TransactionShape? shape, CancellationToken cancellationToken) =>
        executor.BeginAsync(call.Grant.AppId, CallerFor(call), cancellationToken, shape);

    private string Register(HostCall call, SqlSession session)
    {
        try
        {
            return transactions.Add(call.Capability, session);
        }
        catch
        {
            _ = session.DisposeAsync().AsTask();
            throw;
        }
    }

    private static HostCallException WithTx(HostCallException error, string tx)
    {
        var details = error.Details?.DeepClone().AsObject() ?? [];
        details["tx"] = tx;
        return new HostCallException(error.Code, error.Message, details);
    }

    /// <summary>A live query's run: what its statements read, kept under its invocation (docs/typed-functions.md, "Live queries").</summary>
    private void NoteReads(HostCall call, SqlSession session)
    {
        if (session.TracksReads && session.ReadTables.Count > 0)
        {
            reads.Add(call.Grant.InvocationId, session.ReadTables);
        }
    }

    /// <summary>
    /// A statement's deadline: the invocation's, so a slow query is cancelled in PostgreSQL when the
    /// caller gives up; waitUntil work after the response gets until the capability expires.
    /// </summary>
    private static DateTimeOffset DeadlineOf(CapabilityGrant grant) =>
        DateTimeOffset.UtcNow < grant.Deadline ? grant.Deadline : grant.ExpiresAt;

    /// <summary>
    /// Whom a call's SQL runs as: the function's binding login for <c>ctx.bindings.databases</c>; service_role for a
    /// typed function's <c>ctx.db.unsafe</c> (and its plain <c>ctx.db</c> when its app turned strict policies off);
    /// else as below.
    /// </summary>
    private DbCaller CallerFor(HostCall call)
    {
        if (call.Args.ValueKind == JsonValueKind.Object && call.Args.TryGetProperty("binding", out var binding) && binding.ValueKind == JsonValueKind.String)
        {
            if (binding.GetString() != Bindings.DatabaseBindings.Service || !call.Grant.BoundServices.Contains(Bindings.DatabaseBindings.Service))
            {
                throw new HostCallException(ErrorCodes.NoBinding, $"'{call.Grant.FunctionName}' declares no {binding.GetString()} binding");
            }

            return DbCaller.Binding(bindings.Login(call.Grant.FunctionId));
        }

        if (call.Args.ValueKind == JsonValueKind.Object && call.Args.TryGetProperty("unsafe", out var @unsafe) && @unsafe.ValueKind == JsonValueKind.True)
        {
            return call.Grant.Typed
                ? DbCaller.Service
                : throw new HostCallException(ErrorCodes.Forbidden, "ctx.db.unsafe is for typed functions (query, mutation, action); a plain function can declare a databases binding instead");
        }

        return call.Grant.DbAsService ? DbCaller.Service : CallerFor(call.Grant.Caller, call.Args);
    }

    /// <summary>
    /// Whom SQL runs as. <c>asAnon</c> only lowers privileges, so any invocation may use it;
    /// <c>asUser</c> acts for a user, so only a service invocation (API key, cron, events) may.
    /// </summary>
    internal static DbCaller CallerFor(Caller caller, JsonElement args)
    {
        var own = caller.Kind switch
        {
            Caller.UserKind when caller.UserId is { } userId => DbCaller.User(userId, caller.Claims),
            Caller.ServiceKind => DbCaller.Service,
            _ => DbCaller.Anon,
        };
        if (!args.TryGetProperty("as", out var asElement) || asElement.ValueKind != JsonValueKind.Object)
        {
            return own;
        }

        var role = asElement.TryGetProperty("role", out var roleElement) ? roleElement.GetString() : null;
        switch (role)
        {
            case "anon":
                return DbCaller.Anon;
            case "authenticated":
                if (own.Role != DbRole.Service)
                {
                    throw new HostCallException(ErrorCodes.Forbidden,
                        "ctx.db.asUser acts for another user, so only an invocation running as the service (API key, cron, events) may use it; this one runs as " + own.RoleName);
                }

                var userId = asElement.TryGetProperty("userId", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
                return string.IsNullOrEmpty(userId)
                    ? throw new HostCallException(ErrorCodes.InvalidArgs, "ctx.db.asUser needs a user id")
                    : DbCaller.User(userId);
            default:
                throw new HostCallException(ErrorCodes.InvalidArgs, $"unknown role '{role}' to run as");
        }
    }

    private static JsonObject Render(SqlResult result)
    {
        var binary = new JsonArray();
        foreach (var field in result.Fields)
        {
            if (field.DataType == "bytea")
            {
                binary.Add(field.Name);
            }
        }

        var rows = new JsonArray();
        foreach (var row in result.Rows)
        {
            rows.Add(row);
        }

        var answer = new JsonObject { ["rows"] = rows, ["rowCount"] = result.RowCount };
        if (binary.Count > 0)
        {
            answer["binaryColumns"] = binary;
        }

        return answer;
    }

    /// <summary>PostgreSQL's refusal as the function sees it: <c>code</c> is the SQLSTATE, with detail, hint and position.</summary>
    internal static HostCallException ToCallError(SqlExecutionException ex)
    {
        var code = ex.Failure switch
        {
            SqlFailure.Statement => ex.SqlState ?? ErrorCodes.DbError,
            SqlFailure.Timeout => "57014", // query_canceled, as PostgreSQL reports a statement_timeout
            SqlFailure.ResultTooLarge => ErrorCodes.ResultTooLarge,
            _ => ErrorCodes.DatabaseUnavailable,
        };
        var details = new JsonObject();
        if (ex.Detail is not null)
        {
            details["detail"] = ex.Detail;
        }

        if (ex.Hint is not null)
        {
            details["hint"] = ex.Hint;
        }

        if (ex.Position is { } position)
        {
            details["position"] = position;
        }

        return new HostCallException(code, ex.Message, details);
    }
}
