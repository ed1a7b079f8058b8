using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Errors;

namespace Isola.Host.Api;

/// <summary>
/// App token settings (admin only): the anon and service keys, JWKS URL and audience, secret rotation,
/// and dev tokens for testing (<c>POST /v1/{app}/auth/token</c>).
/// </summary>
internal static class AppAuthEndpoints
{
    public static void MapAppAuthEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/apps/{app}/auth", async (string app, HttpContext http, AppStore apps, AppAuthStore auth) =>
        {
            await apps.RequireAsync(app, http.RequestAborted);
            return Results.Json(Render(await auth.GetAsync(app, http.RequestAborted)));
        }).RequirePermission(ApiKey.AdminPermission);

        routes.MapPut("/v1/apps/{app}/auth", async (string app, HttpContext http, AppStore apps, AppAuthStore auth) =>
        {
            await apps.RequireAsync(app, http.RequestAborted);
            var body = await ReadObjectAsync(http, """{"jwksUrl": "https://issuer.example.com/.well-known/jwks.json", "audience": "my-app"}""");
            (string? Value, bool Given) jwks = (null, false), audience = (null, false);
            foreach (var property in body.EnumerateObject())
            {
                var value = property.Value.ValueKind switch
                {
                    JsonValueKind.Null => null,
                    JsonValueKind.String => property.Value.GetString(),
                    _ => throw IsolaException.InvalidField(property.Name, "must be a string or null"),
                };
                switch (property.Name)
                {
                    case "jwksUrl":
                        if (value is not null && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http")))
                        {
                            throw IsolaException.InvalidField("jwksUrl", $"must be an http(s) URL (got '{value}')");
                        }

                        jwks = (value, true);
                        break;
                    case "audience":
                        audience = (value, true);
                        break;
                    default:
                        throw IsolaException.InvalidField(property.Name, "is not a known field (jwksUrl, audience)");
                }
            }

            var updated = await auth.UpdateAsync(app, jwks.Value, jwks.Given, audience.Value, audience.Given, http.RequestAborted);
            return Results.Json(Render(updated));
        }).RequirePermission(ApiKey.AdminPermission);

        routes.MapPost("/v1/apps/{app}/auth/rotate", async (string app, HttpContext http, AppStore apps, AppAuthStore auth) =>
        {
            await apps.RequireAsync(app, http.RequestAborted);
            return Results.Json(Render(await auth.RotateAsync(app, http.RequestAborted)));
        }).RequirePermission(ApiKey.AdminPermission);

        routes.MapPost("/v1/{app}/auth/token", MintAsync).RequirePermission(ApiKey.AdminPermission);
    }

    private static async Task<IResult> MintAsync(string app, HttpContext http, AppStore apps, AppAuthStore auth, TimeProvider time)
    {
        await apps.RequireAsync(app, http.RequestAborted);
        var body = await ReadObjectAsync(http, """{"sub": "user-1", "email": "ada@example.com", "roles": ["admin"], "expiresIn": 3600}""");
        string? subject = null, email = null;
        var roles = new List<string>();
        var lifetime = TimeSpan.FromHours(1);
        foreach (var property in body.EnumerateObject())
        {
            var value = property.Value;
            switch (property.Name)
            {
                case "sub":
                    subject = value.ValueKind == JsonValueKind.String && value.GetString()!.Length is > 0 and <= 200
                        ? value.GetString() : throw IsolaException.InvalidField("sub", "must be a string of 1-200 characters");
                    break;
                case "email":
                    email = value.ValueKind == JsonValueKind.String && value.GetString()!.Contains('@', StringComparison.Ordinal)
                        ? value.GetString() : throw IsolaException.InvalidField("email", "must be an email address");
                    break;
                case "roles":
                    roles = value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(r => r.ValueKind == JsonValueKind.String)
                        ? [.. value.EnumerateArray().Select(r => r.GetString()!)]
                        : throw IsolaException.InvalidField("roles", "must be an array of strings");
                    break;
                case "expiresIn":
                    lifetime = value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var seconds) && seconds is > 0 and <= 30 * 86400
                        ? TimeSpan.FromSeconds(seconds) : throw IsolaException.InvalidField("expiresIn", "must be a number of seconds from 1 to 30 days");
                    break;
                default:
                    throw IsolaException.InvalidField(property.Name, "is not a known field (sub, email, roles, expiresIn)");
            }
        }

        var settings = await auth.GetAsync(app, http.RequestAborted);
        var token = auth.MintUserToken(settings, subject ?? throw IsolaException.InvalidField("sub", "is required"), email, roles, lifetime);
        return Results.Json(new JsonObject { ["token"] = token, ["expiresAt"] = time.GetUtcNow() + lifetime, ["app"] = app });
    }

    private static async Task<JsonElement> ReadObjectAsync(HttpContext http, string example)
    {
        var body = await JsonBody.ReadAsync(http.Request, 64 * 1024);
        return body.ValueKind == JsonValueKind.Object ? body : throw IsolaException.InvalidRequest("the request body must be a JSON object like " + example);
    }

    private static JsonObject Render(AppAuth auth) => new()
    {
        ["app"] = auth.AppId,
        ["anonKey"] = AppAuthStore.AnonKey(auth),
        ["serviceKey"] = AppAuthStore.ServiceKey(auth),
        ["jwksUrl"] = auth.JwksUrl,
        ["audience"] = auth.Audience,
        ["rotatedAt"] = auth.RotatedAt,
    };
}
