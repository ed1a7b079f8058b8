using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Observability;

namespace Isola.Host.Api;

/// <summary>The canonical deploy API (feature C1, C2, C4) under <c>/v1/{app}/functions</c>.</summary>
internal static class FunctionEndpoints
{
    public static void MapFunctionEndpoints(this IEndpointRouteBuilder routes)
    {
        var functions = routes.MapGroup("/v1/{app}/functions");
        functions.MapGet("", (string app, HttpContext http, FunctionStore store, AppStore apps) => ListAsync(app, http, store, apps))
            .RequirePermission(Permissions.Read);
        functions.MapPost("", (string app, HttpContext http, FunctionService service) => CreateAsync(app, http, service))
            .RequirePermission(Permissions.Create);
        functions.MapGet("/{name}", (string app, string name, HttpContext http, FunctionStore store) => GetAsync(app, name, http, store, includeCode: false))
            .RequirePermission(Permissions.Read);
        functions.MapGet("/{name}/config", (string app, string name, HttpContext http, FunctionStore store) => GetAsync(app, name, http, store, includeCode: true))
            .RequirePermission(Permissions.Read);
        functions.MapPut("/{name}", (string app, string name, HttpContext http, FunctionStore store, FunctionService service) => UpdateAsync(app, name, http, store, service))
            .RequirePermission(Permissions.Update);
        functions.MapDelete("/{name}", (string app, string name, HttpContext http, FunctionStore store, AppStore apps, FunctionService service) => DeleteAsync(app, name, http, store, apps, service))
            .RequirePermission(Permissions.Delete);
        functions.MapGet("/{name}/versions", (string app, string name, HttpContext http, FunctionStore store) => VersionsAsync(app, name, http, store))
            .RequirePermission(Permissions.Read);
        functions.MapGet("/{name}/logs", (string app, string name, HttpContext http, FunctionStore store, InvocationQueries queries) => LogsAsync(app, name, http, store, queries))
            .RequirePermission(Permissions.Read);
        functions.MapGet("/{name}/stats", (string app, string name, HttpContext http, FunctionStore store, InvocationQueries queries) => StatsAsync(app, name, http, store, queries))
            .RequirePermission(Permissions.Read);
        functions.MapPost("/{name}/rollback", (string app, string name, HttpContext http, FunctionStore store, FunctionService service) => RollbackAsync(app, name, http, store, service))
            .RequirePermission(Permissions.Update);
    }

    internal static async Task<IResult> ListAsync(string app, HttpContext http, FunctionStore store, AppStore apps)
    {
        await apps.RequireAsync(app, http.RequestAborted);
        var list = await store.ListAsync(app, http.RequestAborted);
        var baseUrl = FunctionView.BaseUrl(http.Request);
        return Results.Json(new JsonObject
        {
            ["functions"] = new JsonArray([.. list.Select(f => FunctionView.Render(f, baseUrl, includeCode: false))]),
            ["count"] = list.Count,
        });
    }

    internal static async Task<IResult> CreateAsync(string app, HttpContext http, FunctionService service)
    {
        var (body, uploaded) = await DeployBody.ReadAsync(http.Request, service.Limits);
        var request = FunctionRequestParser.ParseCreate(body, service.Limits, uploaded);
        RequireBindingPermissions(http, app, request);
        var created = await service.CreateAsync(app, request, http.RequestAborted);
        return Results.Created($"/v1/{app}/functions/{created.Name}", FunctionView.Render(created, FunctionView.BaseUrl(http.Request), includeCode: false));
    }

    internal static async Task<IResult> GetAsync(string app, string name, HttpContext http, FunctionStore store, bool includeCode)
    {
        var function = await store.GetAsync(app, name, includeCode, http.RequestAborted);
        var view = FunctionView.Render(function, FunctionView.BaseUrl(http.Request), includeCode);
        if (await http.RequestServices.GetRequiredService<Triggers.Cron.CronView>().DescribeAsync(function, http.RequestAborted) is { } cron)
        {
            view["cron"] = cron;
        }

        return Results.Json(view);
    }

    internal static async Task<IResult> UpdateAsync(string app, string name, HttpContext http, FunctionStore store, FunctionService service)
    {
        var (body, uploaded) = await DeployBody.ReadAsync(http.Request, service.Limits);
        var current = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
        var request = FunctionRequestParser.ParseUpdate(body, current.Settings, service.Limits, uploaded);
        RequireBindingPermissions(http, app, request);
        var updated = await service.UpdateAsync(current, request, http.RequestAborted);
        return Results.Json(FunctionView.Render(updated, FunctionView.BaseUrl(http.Request), includeCode: false));
    }

    internal static async Task<IResult> DeleteAsync(string app, string name, HttpContext http, FunctionStore store, AppStore apps, FunctionService service)
    {
        await apps.RequireAsync(app, http.RequestAborted);
        var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
        return await service.DeleteAsync(function, http.RequestAborted)
            ? Results.Json(new JsonObject { ["deleted"] = true, ["name"] = function.Name, ["app"] = app })
            : throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, $"function '{name}' does not exist in app '{app}'");
    }

    /// <summary>C8 / D4: binding a function to a service needs <c>functions.bindings.create:{service}</c> for each one.</summary>
    private static void RequireBindingPermissions(HttpContext http, string app, FunctionRequest request)
    {
        if (!request.FieldsGiven.Contains("bindings"))
        {
            return;
        }

        var key = http.CallerKey();
        foreach (var service in request.Settings.Bindings.Select(b => b.Service).Distinct())
        {
            var permission = Permissions.BindingsCreate(service);
            if (!key.Allows(permission, app) && !key.Allows(Permissions.BindingsCreate("*"), app))
            {
                throw new IsolaException(ErrorKind.Forbidden, ErrorCodes.Forbidden, $"the API key '{key.Name}' lacks the permission '{permission}' needed to bind the function to '{service}'")
                {
                    Field = "bindings",
                };
            }
        }
    }

    private static async Task<IResult> VersionsAsync(string app, string name, HttpContext http, FunctionStore store)
    {
        var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
        var versions = await store.ListVersionsAsync(function, http.RequestAborted);
        return Results.Json(new JsonObject
        {
            ["name"] = function.Name,
            ["current"] = function.Version,
            ["versions"] = new JsonArray([.. versions.Select(FunctionView.RenderVersion)]),
        });
    }

    private static async Task<IResult> RollbackAsync(string app, string name, HttpContext http, FunctionStore store, FunctionService service)
    {
        var body = await JsonBody.ReadAsync(http.Request, 64 * 1024);
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidRequest("the request body must be a JSON object like {\"version\": 2}");
        }

        int? version = null;
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name != "version")
            {
                throw IsolaException.InvalidField(property.Name, "is not a known field; rollback takes only 'version'");
            }

            version = property.Value.ValueKind == JsonValueKind.Number && property.Value.TryGetInt32(out var v) && v >= 1
                ? v
                : throw IsolaException.InvalidField("version", "must be a positive integer");
        }

        if (version is null)
        {
            throw IsolaException.InvalidField("version", "is required");
        }

        var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
        var rolledBack = await service.RollbackAsync(function, version.Value, http.RequestAborted);
        return Results.Json(FunctionView.Render(rolledBack, FunctionView.BaseUrl(http.Request), includeCode: false));
    }

    private static async Task<IResult> LogsAsync(string app, string name, HttpContext http, FunctionStore store, InvocationQueries queries)
    {
        var query = http.Request.Query;
        var filter = new InvocationQueries.LogFilter(
            Status: QueryInt(query, "status", 100, 599),
            ErrorsOnly: query.TryGetValue("errors", out var errors) && errors.ToString() is "true" or "1",
            Since: QueryTime(query, "since"),
            Until: QueryTime(query, "until"),
            Limit: QueryInt(query, "limit", 1, InvocationQueries.MaxLimit) ?? 50);
        var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
        var invocations = await queries.LogsAsync(function.Id, filter, http.RequestAborted);
        return Results.Json(new JsonObject { ["name"] = function.Name, ["invocations"] = invocations });
    }

    private static async Task<IResult> StatsAsync(string app, string name, HttpContext http, FunctionStore store, InvocationQueries queries)
    {
        var since = QueryTime(http.Request.Query, "since");
        var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
        var stats = await queries.StatsAsync(function.Id, since, http.RequestAborted);
        stats["name"] = function.Name;
        stats["version"] = function.Version;
        return Results.Json(stats);
    }

    private static int? QueryInt(IQueryCollection query, string name, int min, int max)
    {
        if (!query.TryGetValue(name, out var raw))
        {
            return null;
        }

        return int.TryParse(raw, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw IsolaException.InvalidField(name, $"must be an integer from {min} to {max} (got '{raw}')");
    }

    private static DateTimeOffset? QueryTime(IQueryCollection query, string name)
    {
        if (!query.TryGetValue(name, out var raw))
        {
            return null;
        }

        return DateTimeOffset.TryParse(raw, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var value)
            ? value
            : throw IsolaException.InvalidField(name, $"must be an ISO 8601 time such as 2026-01-31T12:00:00Z (got '{raw}')");
    }
}
