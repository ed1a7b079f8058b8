using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Secrets;

namespace Isola.Host.Api;

/// <summary>
/// Secrets (C5): <c>/v1/{app}/secrets</c> for the whole app and <c>/v1/{app}/functions/{name}/secrets</c> for one
/// function's own env vars, set and removed a few at a time. Reads give names only.
/// </summary>
internal static class SecretEndpoints
{
    // 100 values of at most 32 KiB each, with room for the JSON around them.
    private const long MaxBodyBytes = 4 * 1024 * 1024;

    private const string ValuesExample = "{\"API_KEY\": \"value\"} or [{\"name\": \"API_KEY\", \"value\": \"value\"}]";
    private const string NamesExample = "[\"API_KEY\"] or {\"names\": [\"API_KEY\"]}";

    public static void MapSecretEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/{app}/secrets", async (string app, HttpContext http, AppSecrets secrets) =>
            Render(app, null, await secrets.NamesAsync(app, http.RequestAborted))).RequirePermission(Permissions.Read);
        routes.MapPut("/v1/{app}/secrets", async (string app, HttpContext http, AppSecrets secrets) =>
        {
            var values = ParseValues(await JsonBody.ReadAsync(http.Request, MaxBodyBytes));
            return Render(app, null, await secrets.SetAsync(app, values, http.RequestAborted));
        }).RequirePermission(Permissions.SecretsWrite);
        routes.MapDelete("/v1/{app}/secrets", async (string app, HttpContext http, AppSecrets secrets) =>
        {
            var names = ParseNames(await JsonBody.ReadAsync(http.Request, MaxBodyBytes));
            return Render(app, null, await secrets.UnsetAsync(app, names, http.RequestAborted));
        }).RequirePermission(Permissions.SecretsWrite);
        routes.MapDelete("/v1/{app}/secrets/{name}", async (string app, string name, HttpContext http, AppSecrets secrets) =>
            Render(app, null, await secrets.UnsetAsync(app, [name], http.RequestAborted))).RequirePermission(Permissions.SecretsWrite);

        // A function's own env vars, changed without restating the others (each change is a new version).
        routes.MapGet("/v1/{app}/functions/{name}/secrets", async (string app, string name, HttpContext http, FunctionStore store) =>
        {
            var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
            return Render(app, function, function.EnvNames);
        }).RequirePermission(Permissions.Read);
        routes.MapPut("/v1/{app}/functions/{name}/secrets", async (string app, string name, HttpContext http, FunctionStore store, FunctionService service) =>
        {
            var values = ParseValues(await JsonBody.ReadAsync(http.Request, MaxBodyBytes));
            var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
            var updated = await service.EditEnvAsync(function, values, [], http.RequestAborted);
            return Render(app, updated, updated.EnvNames);
        }).RequirePermission(Permissions.Update);
        routes.MapDelete("/v1/{app}/functions/{name}/secrets", async (string app, string name, HttpContext http, FunctionStore store, FunctionService service) =>
        {
            var names = ParseNames(await JsonBody.ReadAsync(http.Request, MaxBodyBytes));
            var function = await store.GetAsync(app, name, includeCode: false, http.RequestAborted);
            var updated = await service.EditEnvAsync(function, new Dictionary<string, string>(), names, http.RequestAborted);
            return Render(app, updated, updated.EnvNames);
        }).RequirePermission(Permissions.Update);
    }

    private static IResult Render(string app, FunctionRecord? function, IReadOnlyList<string> names)
    {
        var view = new JsonObject { ["app"] = app };
        if (function is not null)
        {
            view["function"] = function.Name;
            view["version"] = function.Version;
        }

        view["secrets"] = new JsonArray([.. names.Select(name => JsonValue.Create(name))]);
        view["count"] = names.Count;
        return Results.Json(view);
    }

    /// <summary>Name → value as an object, or Supabase's list of <c>{name, value}</c>; the names and values follow the env var rules.</summary>
    private static Dictionary<string, string> ParseValues(JsonElement body)
    {
        if (body.ValueKind == JsonValueKind.Object)
        {
            return EnvVarsParser.Parse(body, "secrets");
        }

        if (body.ValueKind != JsonValueKind.Array)
        {
            throw IsolaException.InvalidRequest($"the request body must be {ValuesExample}");
        }

        var asObject = new JsonObject();
        var index = 0;
        foreach (var item in body.EnumerateArray())
        {
            var field = $"secrets[{index++}]";
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String ||
                !item.TryGetProperty("value", out var value) || item.EnumerateObject().Count() != 2)
            {
                throw IsolaException.InvalidField(field, "must be an object with exactly 'name' (a string) and 'value'");
            }

            asObject[name.GetString()!] = JsonNode.Parse(value.GetRawText());
        }

        using var document = JsonDocument.Parse(asObject.ToJsonString());
        return EnvVarsParser.Parse(document.RootElement, "secrets");
    }

    private static List<string> ParseNames(JsonElement body)
    {
        var list = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("names", out var names) && body.EnumerateObject().Count() == 1 ? names : body;
        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            throw IsolaException.InvalidRequest($"the request body must name the secrets to remove: {NamesExample}");
        }

        return [.. list.EnumerateArray().Select((item, i) => item.ValueKind == JsonValueKind.String
            ? item.GetString()!
            : throw IsolaException.InvalidField($"names[{i}]", "must be a string"))];
    }
}
