using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;

namespace Isola.Host.Api;

/// <summary><c>/v1/keys</c> (C8): API keys with a set of permissions, optional app scope and expiry. Admin only.</summary>
internal static class KeyEndpoints
{
    public static void MapKeyEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/keys", CreateAsync).RequirePermission(ApiKey.AdminPermission);
        routes.MapGet("/v1/keys", async (HttpContext http, ApiKeyStore keys) =>
        {
            var list = await keys.ListAsync(http.RequestAborted);
            return Results.Json(new JsonObject { ["keys"] = new JsonArray([.. list.Select(k => Render(k.Key, k.CreatedAt))]) });
        }).RequirePermission(ApiKey.AdminPermission);
        routes.MapDelete("/v1/keys/{id}", async (string id, HttpContext http, ApiKeyStore keys) =>
        {
            if (!Guid.TryParse(id, out var keyId) || !await keys.DeleteAsync(keyId, http.RequestAborted))
            {
                throw IsolaException.NotFound(ErrorCodes.NotFound, $"no API key has the id '{id}'");
            }

            return Results.Json(new JsonObject { ["deleted"] = true, ["id"] = id });
        }).RequirePermission(ApiKey.AdminPermission);
    }

    /// <summary>Every permission a key may hold.</summary>
    public static bool IsKnownPermission(string permission) =>
        permission is ApiKey.AdminPermission or Permissions.Create or Permissions.Read or Permissions.Update or Permissions.Delete or Permissions.Execute or Permissions.AppsManage
            or Permissions.DbMigrate or Permissions.DbQuery or Permissions.SecretsWrite or Permissions.EventsPublish
        || (permission.StartsWith("functions.bindings.create:", StringComparison.Ordinal) &&
            BindingSpec.Services.Append("*").Contains(permission["functions.bindings.create:".Length..]));

    private static async Task<IResult> CreateAsync(HttpContext http, ApiKeyStore keys, AppStore apps, TimeProvider time)
    {
        var body = await JsonBody.ReadAsync(http.Request, 64 * 1024);
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidRequest("the request body must be a JSON object like {\"name\": \"ci\", \"permissions\": [\"functions.create\"]}");
        }

        string? name = null, app = null;
        List<string>? permissions = null;
        DateTimeOffset? expiresAt = null;
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "name":
                    name = value.ValueKind == JsonValueKind.String && value.GetString()!.Trim().Length is > 0 and <= 100
                        ? value.GetString()!.Trim()
                        : throw IsolaException.InvalidField("name", "must be a string of 1-100 characters");
                    break;
                case "permissions":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                    {
                        throw IsolaException.InvalidField("permissions", "must be a non-empty array of permission names");
                    }

                    permissions = [];
                    var index = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        var permission = item.ValueKind == JsonValueKind.String ? item.GetString()! : "";
                        if (!IsKnownPermission(permission))
                        {
                            throw IsolaException.InvalidField($"permissions[{index}]",
                                $"is not a known permission (got '{permission}'); known: *, functions.create, functions.read, functions.update, functions.delete, functions.execute, functions.bindings.create:{{service}}, apps.manage, db.migrate, db.query, events.publish");
                        }

                        permissions.Add(permission);
                        index++;
                    }

                    break;
                case "app":
                    app = value.ValueKind == JsonValueKind.String ? value.GetString() : throw IsolaException.InvalidField("app", "must be an app id");
                    break;
                case "expiresAt":
                    expiresAt = value.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(value.GetString(), System.Globalization.CultureInfo.InvariantCulture,
                        System.Globalization.DateTimeStyles.AssumeUniversal, out var at)
                        ? at
                        : throw IsolaException.InvalidField("expiresAt", "must be an ISO 8601 time such as 2027-01-31T00:00:00Z");
                    break;
                case "expiresIn":
                    expiresAt = value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var seconds) && seconds is > 0 and <= 10L * 365 * 86400
                        ? time.GetUtcNow().AddSeconds(seconds)
                        : throw IsolaException.InvalidField("expiresIn", "must be a number of seconds from 1 to 10 years");
                    break;
                default:
                    throw IsolaException.InvalidField(property.Name, "is not a known field (name, permissions, app, expiresAt, expiresIn)");
            }
        }

        if (expiresAt is { } expiry && expiry <= time.GetUtcNow())
        {
            throw IsolaException.InvalidField("expiresAt", "is in the past");
        }

        if (app is not null)
        {
            await apps.RequireAsync(app, http.RequestAborted);
        }

        var (key, secret, createdAt) = await keys.CreateAsync(name ?? throw IsolaException.InvalidField("name", "is required"),
            permissions ?? throw IsolaException.InvalidField("permissions", "is required"), app, expiresAt, http.RequestAborted);
        var view = Render(key, createdAt);
        view["key"] = secret; // shown once: only its hash is stored
        return Results.Created($"/v1/keys/{key.Id}", view);
    }

    private static JsonObject Render(ApiKey key, DateTimeOffset createdAt) => new()
    {
        ["id"] = key.Id.ToString(),
        ["name"] = key.Name,
        ["prefix"] = key.Prefix,
        ["permissions"] = new JsonArray([.. key.Permissions.Select(p => JsonValue.Create(p))]),
        ["app"] = key.AppId,
        ["expiresAt"] = key.ExpiresAt,
        ["createdAt"] = createdAt,
    };
}
