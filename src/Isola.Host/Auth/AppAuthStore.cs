using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Isola.Host.Errors;
using Isola.Host.Secrets;
using Npgsql;

namespace Isola.Host.Auth;

/// <summary>
/// Per-app JWT settings (A1): an HS256 secret made at app creation (sealed at rest, rotatable), an
/// optional JWKS URL and audience, and the anon and service keys derived from the secret.
/// Cached in memory; a rotation or change on this node drops the cache entry.
/// </summary>
internal sealed class AppAuthStore(NpgsqlDataSource dataSource, SecretBox secrets, TimeProvider time)
{
    /// <summary>Anon and service keys are long-lived, as Supabase's are; rotating the secret revokes them.</summary>
    private static readonly TimeSpan KeyLifetime = TimeSpan.FromDays(3650);

    /// <summary>NOTIFY channel on rotation or settings change; the payload is the app id. Every node drops its copy.</summary>
    public const string ChangeChannel = "isola_app_auth";

    private readonly ConcurrentDictionary<string, Task<AppAuth>> _cache = new(StringComparer.Ordinal);

    public void Invalidate(string appId) => _cache.TryRemove(appId, out _);

    public void InvalidateAll() => _cache.Clear();

    public Task<AppAuth> GetAsync(string appId, CancellationToken cancellationToken)
    {
        var entry = _cache.GetOrAdd(appId, id => LoadOrCreateAsync(id));
        if (entry.IsFaulted || entry.IsCanceled)
        {
            _cache.TryRemove(new KeyValuePair<string, Task<AppAuth>>(appId, entry));
        }

        return entry.WaitAsync(cancellationToken);
    }

    /// <summary>Makes a new secret: every token signed with the old one stops working at once.</summary>
    public async Task<AppAuth> RotateAsync(string appId, CancellationToken cancellationToken)
    {
        await GetAsync(appId, cancellationToken);
        await using var command = dataSource.CreateCommand("update isola.app_auth set jwt_secret = $2, rotated_at = now() where app_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(new NpgsqlParameter { Value = secrets.Seal(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), AssociatedData(appId)) });
        await command.ExecuteNonQueryAsync(cancellationToken);
        await NotifyAsync(appId, cancellationToken);
        return await GetAsync(appId, cancellationToken);
    }

    public async Task<AppAuth> UpdateAsync(string appId, string? jwksUrl, bool setJwks, string? audience, bool setAudience, CancellationToken cancellationToken)
    {
        await GetAsync(appId, cancellationToken);
        await using var command = dataSource.CreateCommand("""
            update isola.app_auth
            set jwks_url = case when $2 then $3 else jwks_url end,
                audience = case when $4 then $5 else audience end
            where app_id = $1
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(new NpgsqlParameter { Value = setJwks });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)jwksUrl ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = setAudience });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)audience ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        await command.ExecuteNonQueryAsync(cancellationToken);
        await NotifyAsync(appId, cancellationToken);
        return await GetAsync(appId, cancellationToken);
    }

    /// <summary>The app's anon key: a JWT with <c>role: anon</c>, stable until the secret rotates.</summary>
    public static string AnonKey(AppAuth auth) => RoleKey(auth, AppAuth.AnonRole);

    /// <summary>The app's service key: a JWT with <c>role: service_role</c>, stable until the secret rotates.</summary>
    public static string ServiceKey(AppAuth auth) => RoleKey(auth, AppAuth.ServiceRole);

    /// <summary>Mints an end-user token (dev tokens, tests, examples).</summary>
    public string MintUserToken(AppAuth auth, string subject, string? email, IReadOnlyList<string> roles, TimeSpan lifetime)
    {
        var now = time.GetUtcNow();
        var claims = new JsonObject
        {
            ["iss"] = "isola",
            ["sub"] = subject,
            ["role"] = "authenticated",
            ["app"] = auth.AppId,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + lifetime).ToUnixTimeSeconds(),
            ["roles"] = new JsonArray([.. roles.Select(r => JsonValue.Create(r))]),
        };
        if (email is not null)
        {
            claims["email"] = email;
        }

        if (auth.Audience is not null)
        {
            claims["aud"] = auth.Audience;
        }

        return Jwt.SignHs256(claims, auth.Secret);
    }

    private static string RoleKey(AppAuth auth, string role)
    {
        var issued = auth.RotatedAt.ToUnixTimeSeconds();
        return Jwt.SignHs256(new JsonObject
        {
            ["iss"] = "isola",
            ["role"] = role,
            ["app"] = auth.AppId,
            ["iat"] = issued,
            ["exp"] = issued + (long)KeyLifetime.TotalSeconds,
        }, auth.Secret);
    }

    private async Task NotifyAsync(string appId, CancellationToken cancellationToken)
    {
        _cache.TryRemove(appId, out _);
        await using var notify = dataSource.CreateCommand("select pg_notify($1, $2)");
        notify.Parameters.Add(new NpgsqlParameter { Value = ChangeChannel });
        notify.Parameters.Add(new NpgsqlParameter { Value = appId });
        await notify.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string AssociatedData(string appId) => "app-jwt/" + appId;

    private async Task<AppAuth> LoadOrCreateAsync(string appId)
    {
        // Made on first use for apps that predate access control (and the default app).
        await using (var insert = dataSource.CreateCommand("""
            insert into isola.app_auth (app_id, jwt_secret)
            select $1, $2 where exists (select 1 from isola.apps where id = $1)
            on conflict (app_id) do nothing
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = appId });
            insert.Parameters.Add(new NpgsqlParameter { Value = secrets.Seal(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), AssociatedData(appId)) });
            await insert.ExecuteNonQueryAsync();
        }

        await using var select = dataSource.CreateCommand("select jwt_secret, jwks_url, audience, rotated_at from isola.app_auth where app_id = $1");
        select.Parameters.Add(new NpgsqlParameter { Value = appId });
        await using var reader = await select.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw IsolaException.NotFound(ErrorCodes.AppNotFound, $"app '{appId}' does not exist");
        }

        var secret = Convert.FromBase64String(secrets.Open(reader.GetString(0), AssociatedData(appId)));
        return new AppAuth(appId, secret, reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.GetFieldValue<DateTimeOffset>(3));
    }
}
