using System.Security.Cryptography;
using System.Text;
using Npgsql;

namespace Isola.Host.Auth;

/// <summary>API keys in <c>isola.api_keys</c>: generated 256-bit random, stored as SHA-256, shown once.</summary>
internal sealed class ApiKeyStore(NpgsqlDataSource dataSource, TimeProvider time)
{
    private const string KeyPrefix = CallerIdentifier.ApiKeyPrefix;

    public static string Generate() => KeyPrefix + Jwt.Base64Url(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Resolves a presented key; null if unknown or expired.</summary>
    public async Task<ApiKey?> FindAsync(string presented, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select id, name, key_prefix, permissions, app_id, expires_at from isola.api_keys where key_hash = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = Hash(presented) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var key = new ApiKey(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
            reader.IsDBNull(4) ? null : reader.GetString(4),
            reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5));
        return key.ExpiresAt is { } expires && expires <= time.GetUtcNow() ? null : key;
    }

    /// <summary>Stores <paramref name="key"/> unless a key with the same hash exists; returns whether it inserted.</summary>
    public async Task<bool> InsertIfMissingAsync(string key, string name, IReadOnlyList<string> permissions, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            insert into isola.api_keys (id, name, key_hash, key_prefix, permissions)
            values ($1, $2, $3, $4, $5)
            on conflict (key_hash) do nothing
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = Guid.CreateVersion7() });
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = Hash(key) });
        command.Parameters.Add(new NpgsqlParameter { Value = key[..(KeyPrefix.Length + 6)] });
        command.Parameters.Add(new NpgsqlParameter { Value = permissions.ToArray() });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Creates a key and returns it with its secret, the only time the secret is ever shown.</summary>
    public async Task<(ApiKey Key, string Secret, DateTimeOffset CreatedAt)> CreateAsync(string name, IReadOnlyList<string> permissions, string? appId,
        DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var secret = Generate();
        var id = Guid.CreateVersion7();
        await using var command = dataSource.CreateCommand("""
            insert into isola.api_keys (id, name, key_hash, key_prefix, permissions, app_id, expires_at)
            values ($1, $2, $3, $4, $5, $6, $7) returning created_at
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        command.Parameters.Add(new NpgsqlParameter { Value = Hash(secret) });
        command.Parameters.Add(new NpgsqlParameter { Value = secret[..(KeyPrefix.Length + 6)] });
        command.Parameters.Add(new NpgsqlParameter { Value = permissions.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)appId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)expiresAt ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        var created = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
        return (new ApiKey(id, name, secret[..(KeyPrefix.Length + 6)], permissions, appId, expiresAt), secret, new DateTimeOffset(created, TimeSpan.Zero));
    }

    public async Task<IReadOnlyList<(ApiKey Key, DateTimeOffset CreatedAt)>> ListAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select id, name, key_prefix, permissions, app_id, expires_at, created_at from isola.api_keys order by created_at, id");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<(ApiKey, DateTimeOffset)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add((new ApiKey(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)),
                reader.GetFieldValue<DateTimeOffset>(6)));
        }

        return keys;
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("delete from isola.api_keys where id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = id });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
