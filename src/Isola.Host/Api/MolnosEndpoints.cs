using System.Text.Json.Nodes;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Functions;
using Isola.Host.Observability;

namespace Isola.Host.Api;

/// <summary>
/// MolnOS-shaped control endpoints (feature C3) on the default app: the same handlers and rows as
/// <see cref="FunctionEndpoints"/>, only other paths. Functions are addressed by id or name.
/// </summary>
internal static class MolnosEndpoints
{
    public static void MapMolnosEndpoints(this IEndpointRouteBuilder routes)
    {
        const string app = AppStore.DefaultApp;
        var functions = routes.MapGroup("/functions");
        functions.MapPost("/deploy", (HttpContext http, FunctionService service) => FunctionEndpoints.CreateAsync(app, http, service))
            .RequirePermission(Permissions.Create);
        functions.MapGet("/list", (HttpContext http, FunctionStore store, AppStore apps) => FunctionEndpoints.ListAsync(app, http, store, apps))
            .RequirePermission(Permissions.Read);
        functions.MapGet("/stats", (HttpContext http, FunctionStore store, InvocationQueries queries) => StatsAsync(http, store, queries))
            .RequirePermission(Permissions.Read);
        functions.MapGet("/{id}", (string id, HttpContext http, FunctionStore store) => FunctionEndpoints.GetAsync(app, id, http, store, includeCode: false))
            .RequirePermission(Permissions.Read);
        functions.MapGet("/{id}/config", (string id, HttpContext http, FunctionStore store) => FunctionEndpoints.GetAsync(app, id, http, store, includeCode: true))
            .RequirePermission(Permissions.Read);
        functions.MapPut("/{id}", (string id, HttpContext http, FunctionStore store, FunctionService service) => FunctionEndpoints.UpdateAsync(app, id, http, store, service))
            .RequirePermission(Permissions.Update);
        functions.MapDelete("/{id}", (string id, HttpContext http, FunctionStore store, AppStore apps, FunctionService service) => FunctionEndpoints.DeleteAsync(app, id, http, store, apps, service))
            .RequirePermission(Permissions.Delete);
    }

    /// <summary>Counts over the default app: functions, versions, functions per trigger type, and invocation totals.</summary>
    private static async Task<IResult> StatsAsync(HttpContext http, FunctionStore store, InvocationQueries queries)
    {
        var functions = await store.ListAsync(AppStore.DefaultApp, http.RequestAborted);
        var byTrigger = new JsonObject();
        foreach (var type in TriggerSpec.Types)
        {
            byTrigger[type] = functions.Count(f => f.Settings.HasTrigger(type));
        }

        return Results.Json(new JsonObject
        {
            ["app"] = AppStore.DefaultApp,
            ["functions"] = functions.Count,
            ["versions"] = functions.Sum(f => f.Version),
            ["byTrigger"] = byTrigger,
            ["lastUpdatedAt"] = functions.Count == 0 ? null : functions.Max(f => f.UpdatedAt),
            ["invocations"] = await queries.AppTotalsAsync(AppStore.DefaultApp, http.RequestAborted),
        });
    }
}
