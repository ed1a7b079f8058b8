using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Errors;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Data.FunctionDb;

/// <summary>
/// <c>ctx.db</c> on the host (docs/data.md): statements from a function run in its app's database
/// as the invocation's caller (anon, authenticated with the token's claims, or service_role), or
/// as whom <c>asUser</c> / <c>asAnon</c> asked for, through <see cref="SqlExecutor"/>.
/// </summary>
internal sealed class DbCallHandler(SqlExecutor executor, DbTransactions transactions, Bindings.DatabaseBindings bindings) : IHostCallHandler
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
                    var session = await executor.BeginAsync(call.Grant.AppId, CallerFor(call), cancellationToken);
                    try
                    {
                        return new JsonObject { ["tx"] = transactions.Add(call.Capability, session) };
                    }
                    catch
                    {
                        await session.DisposeAsync();
                        throw;
                    }

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

    private async Task<JsonNode?> QueryAsync(HostCall call, CancellationToken cancellationToken)
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
        if (TxOf(args) is { } tx)
        {
            // Inside ctx.db.transaction: the statement joins it, as whom the transaction began.
            return Render(await transactions.Get(call.Capability, tx).ExecuteAsync(sql, parameters, DeadlineOf(call.Grant), cancellationToken));
        }

        return Render(await executor.ExecuteAsync(call.Grant.AppId, CallerFor(call), sql, parameters, DeadlineOf(call.Grant), cancellationToken));
    }

    /// <summary>
    /// A statement's deadline: the invocation's, so a slow query is cancelled in PostgreSQL when the
    /// caller gives up; waitUntil work after the response gets until the capability expires.
    /// </summary>
    private static DateTimeOffset DeadlineOf(CapabilityGrant grant) =>
        DateTimeOffset.UtcNow < grant.Deadline ? grant.Deadline : grant.ExpiresAt;

    /// <summary>Whom a call's SQL runs as: the function's binding login for <c>ctx.bindings.databases</c>, else as below.</summary>
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

        return CallerFor(call.Grant.Caller, call.Args);
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
