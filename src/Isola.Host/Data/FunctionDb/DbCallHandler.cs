using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Data.FunctionDb;

/// <summary>
/// <c>ctx.db</c> on the host (docs/data.md): statements from a function run in its app's database
/// as the invocation's caller (anon, authenticated with the token's claims, or service_role), or
/// as whom <c>asUser</c> / <c>asAnon</c> asked for, through <see cref="SqlExecutor"/>.
/// </summary>
internal sealed class DbCallHandler(SqlExecutor executor) : IHostCallHandler
{
    public string Family => "db";

    public async ValueTask<JsonNode?> HandleAsync(HostCall call, CancellationToken cancellationToken)
    {
        switch (call.Op)
        {
            case "db.query":
                return await QueryAsync(call, cancellationToken);
            default:
                throw new HostCallException("UNKNOWN_CALL", $"the host does not serve '{call.Op}'");
        }
    }

    private async Task<JsonNode?> QueryAsync(HostCall call, CancellationToken cancellationToken)
    {
        var args = call.Args;
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty("sql", out var sqlElement) || sqlElement.ValueKind != JsonValueKind.String)
        {
            throw new HostCallException("INVALID_ARGS", "ctx.db.query needs the SQL text as a string");
        }

        var parameters = new List<JsonElement>();
        if (args.TryGetProperty("params", out var paramsElement) && paramsElement.ValueKind == JsonValueKind.Array)
        {
            parameters.AddRange(paramsElement.EnumerateArray());
        }

        var caller = CallerFor(call.Grant.Caller, args);
        try
        {
            var result = await executor.ExecuteAsync(call.Grant.AppId, caller, sqlElement.GetString()!, parameters, DeadlineOf(call.Grant), cancellationToken);
            return Render(result);
        }
        catch (SqlExecutionException ex)
        {
            throw ToCallError(ex);
        }
    }

    /// <summary>
    /// A statement's deadline: the invocation's, so a slow query is cancelled in PostgreSQL when the
    /// caller gives up; waitUntil work after the response gets until the capability expires.
    /// </summary>
    private static DateTimeOffset DeadlineOf(CapabilityGrant grant) =>
        DateTimeOffset.UtcNow < grant.Deadline ? grant.Deadline : grant.ExpiresAt;

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
                    throw new HostCallException("FORBIDDEN",
                        "ctx.db.asUser acts for another user, so only an invocation running as the service (API key, cron, events) may use it; this one runs as " + own.RoleName);
                }

                var userId = asElement.TryGetProperty("userId", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
                return string.IsNullOrEmpty(userId)
                    ? throw new HostCallException("INVALID_ARGS", "ctx.db.asUser needs a user id")
                    : DbCaller.User(userId);
            default:
                throw new HostCallException("INVALID_ARGS", $"unknown role '{role}' to run as");
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
            SqlFailure.Statement => ex.SqlState ?? "DB_ERROR",
            SqlFailure.Timeout => "57014", // query_canceled, as PostgreSQL reports a statement_timeout
            SqlFailure.ResultTooLarge => "RESULT_TOO_LARGE",
            _ => "DATABASE_UNAVAILABLE",
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
