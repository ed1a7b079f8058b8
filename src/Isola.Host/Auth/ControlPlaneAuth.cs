using Isola.Host.Errors;

namespace Isola.Host.Auth;

/// <summary>
/// The bearer-key check every control endpoint carries: no key → 401 AUTH_REQUIRED, unknown or
/// expired key → 401, key without the endpoint's permission → 403 FORBIDDEN naming it.
/// </summary>
internal static class ControlPlaneAuth
{
    private const string KeyItem = "isola.apiKey";

    public static TBuilder RequirePermission<TBuilder>(this TBuilder builder, string permission)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var key = await AuthenticateAsync(http);
            var app = http.Request.RouteValues.TryGetValue("app", out var value) ? value as string : null;
            if (!key.Allows(permission, app))
            {
                throw new IsolaException(ErrorKind.Forbidden, ErrorCodes.Forbidden, $"the API key '{key.Name}' lacks the permission '{permission}'");
            }

            http.Items[KeyItem] = key;
            return await next(context);
        });
        return builder;
    }

    /// <summary>The key that authenticated this request; only valid inside an endpoint that requires one.</summary>
    public static ApiKey CallerKey(this HttpContext context) => (ApiKey)context.Items[KeyItem]!;

    private static async Task<ApiKey> AuthenticateAsync(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (string.IsNullOrWhiteSpace(header))
        {
            throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired, "this endpoint needs an API key: send 'Authorization: Bearer <key>'");
        }

        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || header.Length == scheme.Length)
        {
            throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired, "the Authorization header must be 'Bearer <key>'");
        }

        var store = http.RequestServices.GetRequiredService<ApiKeyStore>();
        return await store.FindAsync(header[scheme.Length..].Trim(), http.RequestAborted)
            ?? throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired, "the API key is not valid (unknown, revoked or expired)");
    }
}
