using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Errors;
using static Isola.Host.Validation.JsonFields;

namespace Isola.Host.Api;

/// <summary>
/// An app's database from the control plane (feature D6): <c>POST/GET /v1/{app}/db/migrations</c> and
/// <c>POST /v1/{app}/db/query</c> (one statement as <c>service_role</c>, for operators).
/// </summary>
internal static partial class DbEndpoints
{
    private const long MaxMigrationBytes = 4 * 1024 * 1024;
    private const long MaxQueryBytes = 1024 * 1024;

    public static void MapDbEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/{app}/db/migrations", ApplyAsync).RequirePermission(Permissions.DbMigrate);
        routes.MapGet("/v1/{app}/db/migrations", ListAsync).RequirePermission(Permissions.DbMigrate);
        routes.MapPost("/v1/{app}/db/query", QueryAsync).RequirePermission(Permissions.DbQuery);
    }

    private static async Task<IResult> ApplyAsync(string app, HttpContext http, AppStore apps, AppMigrations migrations)
    {
        await apps.RequireAsync(app, http.RequestAborted);
        var body = ReadObject(await JsonBody.ReadAsync(http.Request, MaxMigrationBytes), "{\"name\": \"001_notes\", \"sql\": \"create table ...\"}");
        string? name = null, sql = null;
        foreach (var property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name":
                    name = RequireString(property.Value, "name");
                    break;
                case "sql":
                    sql = RequireString(property.Value, "sql");
                    break;
                default:
                    throw IsolaException.InvalidField(property.Name, "is not a known field; a migration takes 'name' and 'sql'");
            }
        }

        if (name is null)
        {
            throw IsolaException.InvalidField("name", "is required");
        }

        if (!MigrationName().IsMatch(name))
        {
            throw IsolaException.InvalidField("name", $"must be 1-100 characters of letters, digits, '_', '-' and '.' (got '{name}')");
        }

        if (string.IsNullOrWhiteSpace(sql))
        {
            throw IsolaException.InvalidField("sql", "is required and must not be empty");
        }

        try
        {
            var (outcome, record) = await migrations.ApplyAsync(app, name, sql, http.RequestAborted);
            return outcome switch
            {
                AppMigrations.Outcome.Applied => Results.Json(Render(record, applied: true), statusCode: 201),
                AppMigrations.Outcome.AlreadyApplied => Results.Json(Render(record, applied: false)),
                _ => throw new IsolaException(ErrorKind.Conflict, ErrorCodes.MigrationConflict,
                    $"migration '{name}' was already applied with different SQL (checksum {record.Checksum}); give a changed migration a new name")
                {
                    Field = "sql",
                },
            };
        }
        catch (SqlExecutionException ex) when (ex.Failure == SqlFailure.Statement)
        {
            throw new IsolaException(ErrorKind.Invalid, ErrorCodes.MigrationFailed,
                $"migration '{name}' failed and nothing was applied: {ex.Message}{(ex.Position is { } at ? $" (at character {at})" : "")}")
            {
                Field = "sql",
                Extra = Details(ex),
            };
        }
        catch (SqlExecutionException ex)
        {
            throw ToApi(ex);
        }
    }

    private static async Task<IResult> ListAsync(string app, HttpContext http, AppStore apps, AppMigrations migrations)
    {
        await apps.RequireAsync(app, http.RequestAborted);
        var list = await migrations.ListAsync(app, http.RequestAborted);
        return Results.Json(new JsonObject { ["migrations"] = new JsonArray([.. list.Select(m => Render(m, applied: null))]) });
    }

    private static async Task<IResult> QueryAsync(string app, HttpContext http, AppStore apps, SqlExecutor executor, DataOptions options, TimeProvider time)
    {
        var deadline = time.GetUtcNow() + options.QueryTimeout;
        await apps.RequireAsync(app, http.RequestAborted);
        var body = ReadObject(await JsonBody.ReadAsync(http.Request, MaxQueryBytes), "{\"sql\": \"select * from notes where id = $1\", \"params\": [1]}");
        string? sql = null;
        var parameters = new List<JsonElement>();
        foreach (var property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "sql":
                    sql = RequireString(property.Value, "sql");
                    break;
                case "params":
                    if (property.Value.ValueKind != JsonValueKind.Array)
                    {
                        throw IsolaException.InvalidField("params", "must be an array of values, bound to $1, $2, ...");
                    }

                    parameters.AddRange(property.Value.EnumerateArray());
                    break;
                default:
                    throw IsolaException.InvalidField(property.Name, "is not a known field; a query takes 'sql' and 'params'");
            }
        }

        if (string.IsNullOrWhiteSpace(sql))
        {
            throw IsolaException.InvalidField("sql", "is required and must not be empty");
        }

        try
        {
            var result = await executor.ExecuteAsync(app, DbCaller.Service, sql, parameters, deadline, http.RequestAborted);
            return Results.Json(new JsonObject
            {
                ["rows"] = new JsonArray([.. result.Rows]),
                ["rowCount"] = result.RowCount,
                ["fields"] = new JsonArray([.. result.Fields.Select(f => new JsonObject { ["name"] = f.Name, ["dataType"] = f.DataType })]),
            });
        }
        catch (SqlExecutionException ex)
        {
            throw ToApi(ex);
        }
    }

    private static IsolaException ToApi(SqlExecutionException ex) => ex.Failure switch
    {
        SqlFailure.Statement => new IsolaException(ErrorKind.Invalid, ErrorCodes.QueryFailed, ex.Message) { Field = "sql", Extra = Details(ex) },
        SqlFailure.Timeout => new IsolaException(ErrorKind.Timeout, ErrorCodes.QueryTimeout, ex.Message),
        SqlFailure.ResultTooLarge => new IsolaException(ErrorKind.Invalid, ErrorCodes.ResultTooLarge, ex.Message),
        _ => new IsolaException(ErrorKind.Unavailable, ErrorCodes.DatabaseUnavailable, ex.Message),
    };

    /// <summary>PostgreSQL's own fields, for a console or CLI to point at the fault.</summary>
    private static JsonObject Details(SqlExecutionException ex)
    {
        var details = new JsonObject { ["sqlState"] = ex.SqlState };
        if (ex.Position is { } position)
        {
            details["position"] = position;
        }

        if (ex.Detail is { } detail)
        {
            details["detail"] = detail;
        }

        if (ex.Hint is { } hint)
        {
            details["hint"] = hint;
        }

        return details;
    }

    private static JsonObject Render(AppMigrations.Applied record, bool? applied)
    {
        var json = new JsonObject
        {
            ["name"] = record.Name,
            ["checksum"] = record.Checksum,
            ["appliedAt"] = record.AppliedAt,
        };
        if (applied is { } value)
        {
            json["applied"] = value;
        }

        return json;
    }

    private static JsonElement ReadObject(JsonElement body, string example) => body.ValueKind == JsonValueKind.Object
        ? body
        : throw IsolaException.InvalidRequest($"the request body must be a JSON object like {example}");

    [GeneratedRegex(@"^[A-Za-z0-9_.\-]{1,100}$")]
    private static partial Regex MigrationName();
}
