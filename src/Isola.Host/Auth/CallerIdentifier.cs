using System.Text.Json.Nodes;
using Isola.Host.Errors;

namespace Isola.Host.Auth;

/// <summary>
/// Reads the caller's credentials at the gateway (A1, A3): <c>Authorization: Bearer</c>, else the
/// <c>apikey</c> header (supabase-js sends both). A platform API key with <c>functions.execute</c> or the
/// app's service key makes a service caller; the anon key a guest; a valid end-user JWT a user;
/// nothing an anonymous caller. A token that fails verification is reported, never silently ignored.
/// </summary>
internal sealed class CallerIdentifier(AppAuthStore apps, ApiKeyStore keys, JwksCache jwks, TimeProvider time)
{
    public const string ApiKeyPrefix = "isola_sk_";

    /// <summary>The identified caller, or why the presented credential is not valid.</summary>
    public sealed record Result(Caller? Caller, string? Invalid, bool PlatformKey, IsolaException? Refused = null);

    public async ValueTask<Result> IdentifyAsync(HttpRequest request, string appId, CancellationToken cancellationToken)
    {
        var token = BearerToken(request) ?? NonEmpty(request.Headers["apikey"].ToString())
            // Browsers cannot set headers on a WebSocket handshake; only there is a key in the query accepted. The user's
            // token before the app's key, as Authorization comes before apikey: a client sends both (@isola/client does).
            ?? (request.HttpContext.WebSockets.IsWebSocketRequest ? NonEmpty(request.Query["access_token"].ToString()) ?? NonEmpty(request.Query["apikey"].ToString()) : null);
        if (token is null)
        {
            return new Result(Caller.Anonymous, null, PlatformKey: false);
        }

        if (token.StartsWith(ApiKeyPrefix, StringComparison.Ordinal))
        {
            var key = await keys.FindAsync(token, cancellationToken);
            if (key is null)
            {
                return new Result(null, "the API key is not valid (unknown, revoked or expired)", PlatformKey: true);
            }

            return key.Allows(Permissions.Execute, appId)
                ? new Result(Caller.Service(key.Name), null, PlatformKey: true)
                : new Result(null, null, PlatformKey: true,
                    new IsolaException(ErrorKind.Forbidden, ErrorCodes.Forbidden, $"the API key '{key.Name}' lacks the permission '{Permissions.Execute}'" + (key.AppId is { } scope && scope != appId ? $" on app '{appId}' (it is scoped to '{scope}')" : "")));
        }

        try
        {
            return new Result(await VerifyJwtAsync(token, appId, cancellationToken), null, PlatformKey: false);
        }
        catch (JwtException ex)
        {
            return new Result(null, ex.Message, PlatformKey: false);
        }
    }

    private async Task<Caller> VerifyJwtAsync(string token, string appId, CancellationToken cancellationToken)
    {
        var parsed = Jwt.Parse(token);
        var auth = await apps.GetAsync(appId, cancellationToken);
        Microsoft.IdentityModel.Tokens.SecurityKey? key = parsed.Algorithm switch
        {
            "HS256" => Jwt.SecretKey(auth.Secret),
            "RS256" or "ES256" when auth.JwksUrl is not null => await jwks.FindKeyAsync(auth.JwksUrl, parsed.KeyId, cancellationToken),
            _ => throw new JwtException($"tokens signed with '{parsed.Algorithm}' are not accepted" +
                (parsed.Algorithm is "RS256" or "ES256" ? " (this app has no JWKS URL)" : "; use HS256 with the app's secret, or RS256/ES256 with its JWKS")),
        };
        if (key is null)
        {
            throw new JwtException("the token's signature does not match this app's keys");
        }

        var claims = parsed.Claims;
        var role = claims["role"]?.GetValue<string>();
        // The app's own anon and service keys carry no audience; only end-user tokens are held to it.
        await Jwt.VerifyAsync(parsed, key, role is AppAuth.AnonRole or AppAuth.ServiceRole ? null : auth.Audience, time);
        return role switch
        {
            AppAuth.ServiceRole or "service" => Caller.Service(null),
            AppAuth.AnonRole => Caller.AnonKey(claims),
            _ => UserFrom(claims, role),
        };
    }

    private static Caller UserFrom(JsonObject claims, string? role)
    {
        var subject = claims["sub"]?.GetValue<string>() ?? throw new JwtException("the token has no 'sub' claim naming the user");
        var roles = ReadRoles(claims);
        var isAdmin = roles.Contains("admin") || claims["is_admin"] is JsonValue flag && flag.TryGetValue<bool>(out var admin) && admin;
        return new Caller(Caller.UserKind, role ?? "authenticated", HasToken: true, subject, claims["email"]?.GetValue<string>(), roles, isAdmin, claims);
    }

    /// <summary>Roles from <c>roles</c>, or Supabase's <c>app_metadata.roles</c> / <c>app_metadata.role</c>.</summary>
    private static List<string> ReadRoles(JsonObject claims)
    {
        static IEnumerable<string> Strings(JsonNode? node) => node switch
        {
            JsonArray array => array.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : null).OfType<string>(),
            JsonValue single when single.TryGetValue<string>(out var s) => [s],
            _ => [],
        };

        return [.. Strings(claims["roles"]).Concat(Strings(claims["app_metadata"]?["roles"])).Concat(Strings(claims["app_metadata"]?["role"])).Distinct()];
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? NonEmpty(header[7..].Trim()) : null;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
