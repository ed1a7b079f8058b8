using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Errors;
using static Isola.Host.Validation.JsonFields;

namespace Isola.Host.Api;

/// <summary><c>GET /v1/apps</c> and <c>POST /v1/apps {"id": ...}</c>.</summary>
internal static class AppEndpoints
{
    public static void MapAppEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/apps", async (HttpContext http, AppStore apps) =>
        {
            var list = await apps.ListAsync(http.RequestAborted);
            return Results.Json(new JsonObject { ["apps"] = new JsonArray([.. list.Select(Render)]) });
        }).RequirePermission(Permissions.Read);

        routes.MapPost("/v1/apps", async (HttpContext http, AppStore apps) =>
        {
            var body = await JsonBody.ReadAsync(http.Request, 64 * 1024);
            if (body.ValueKind != JsonValueKind.Object)
            {
                throw IsolaException.InvalidRequest("the request body must be a JSON object like {\"id\": \"shop\"}");
            }

            string? id = null;
            foreach (var property in body.EnumerateObject())
            {
                if (property.Name != "id")
                {
                    throw IsolaException.InvalidField(property.Name, "is not a known field; an app takes only 'id'");
                }

                id = RequireString(property.Value, "id");
            }

            var app = await apps.CreateAsync(id ?? throw IsolaException.InvalidField("id", "is required"), http.RequestAborted);
            return Results.Created($"/v1/apps/{app.Id}", Render(app));
        }).RequirePermission(Permissions.AppsManage);

        // Strict policies (R4): whether a typed function's ctx.db acts as its caller (true, the default) or as service_role.
        routes.MapGet("/v1/apps/{app}/policies", async (string app, HttpContext http, AppStore apps, AppPolicies policies) =>
        {
            await apps.RequireAsync(app, http.RequestAborted);
            return Results.Json(new JsonObject { ["strict"] = await policies.IsStrictAsync(app, http.RequestAborted) });
        }).RequirePermission(Permissions.Read);

        routes.MapPut("/v1/apps/{app}/policies", async (string app, HttpContext http, AppPolicies policies) =>
        {
            var body = await JsonBody.ReadAsync(http.Request, 64 * 1024);
            if (body.ValueKind != JsonValueKind.Object)
            {
                throw IsolaException.InvalidRequest("the request body must be a JSON object like {\"strict\": true}");
            }

            bool? strict = null;
            foreach (var property in body.EnumerateObject())
            {
                strict = property.Name == "strict"
                    ? property.Value.ValueKind is JsonValueKind.True or JsonValueKind.False ? property.Value.GetBoolean() : throw IsolaException.InvalidField("strict", "must be true or false")
                    : throw IsolaException.InvalidField(property.Name, "is not a known field; the policies take only 'strict'");
            }

            await policies.SetStrictAsync(app, strict ?? throw IsolaException.InvalidField("strict", "is required"), http.RequestAborted);
            return Results.Json(new JsonObject { ["strict"] = strict });
        }).RequirePermission(Permissions.AppsManage);
    }

    private static JsonObject Render(AppStore.App app) => new()
    {
        ["id"] = app.Id,
        ["createdAt"] = app.CreatedAt,
        ["functions"] = app.FunctionCount,
    };
}
