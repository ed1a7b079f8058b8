using System.Text.Json;
using Isola.Host.Apps;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Npgsql;

namespace Isola.Host.Secrets;

/// <summary>
/// App-wide secrets (C5): values sealed one by one like function env vars, names in clear for listing. Every
/// function of the app sees them as env vars, its own env vars winning. A change bumps the app's secrets
/// version and notifies every function of the app as changed, so each node replaces the running workers.
/// </summary>
internal sealed class AppSecrets(NpgsqlDataSource dataSource, AppStore apps, SecretBox box, DeployedFunctionCache registry)
{
    /// <summary>One app holds at most as many secrets as one function holds env vars.</summary>
    public const int MaxSecrets = FunctionRequestParser.MaxEnvVars;

    /// <summary>Bound to the app and the name, so a ciphertext copied to another app or name fails to open.</summary>
    public static string AssociatedData(string appId, string name) => $"secret/{appId}/{name}";

    public async Task<IReadOnlyList<string>> NamesAsync(string appId, CancellationToken cancellationToken)
    {
        await apps.RequireAsync(appId, cancellationToken);
        await using var command = dataSource.CreateCommand(
            "select coalesce(array(select jsonb_object_keys(env) order by 1), '{}') from isola.app_secrets where app_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        return await command.ExecuteScalarAsync(cancellationToken) as string[] ?? [];
    }

    /// <summary>The app's secrets, opened: what a typed function's module sees when a deploy loads it to read its definition.</summary>
    public async Task<Dictionary<string, string>> OpenAllAsync(string appId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select env::text from isola.app_secrets where app_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        var sealedEnv = await command.ExecuteScalarAsync(cancellationToken) is string json
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(json)!
            : [];
        return sealedEnv.ToDictionary(pair => pair.Key, pair => box.Open(pair.Value, AssociatedData(appId, pair.Key)), StringComparer.Ordinal);
    }

    /// <summary>Adds or replaces the given secrets, keeping the others; returns every name afterwards.</summary>
    public async Task<IReadOnlyList<string>> SetAsync(string appId, IReadOnlyDictionary<string, string> values, CancellationToken cancellationToken)
    {
        var names = await ChangeAsync(appId, env =>
        {
            foreach (var (name, value) in values)
            {
                env[name] = box.Seal(value, AssociatedData(appId, name));
            }

            if (env.Count > MaxSecrets)
            {
                throw IsolaException.InvalidRequest($"the app would hold {env.Count} secrets; the limit is {MaxSecrets}");
            }

            return values.Count > 0;
        }, cancellationToken);
        return names;
    }

    /// <summary>Removes the named secrets (names that do not exist are ignored); returns every name left.</summary>
    public Task<IReadOnlyList<string>> UnsetAsync(string appId, IReadOnlyCollection<string> names, CancellationToken cancellationToken) =>
        ChangeAsync(appId, env => names.Count(env.Remove) > 0, cancellationToken);

    /// <summary>
    /// Runs <paramref name="change"/> on the app's sealed secrets under a row lock and stores the result with a
    /// new version when it reports a change; the NOTIFY is sent in the same transaction.
    /// </summary>
    private async Task<IReadOnlyList<string>> ChangeAsync(string appId, Func<Dictionary<string, string>, bool> change, CancellationToken cancellationToken)
    {
        await apps.RequireAsync(appId, cancellationToken);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var ensure = new NpgsqlCommand("insert into isola.app_secrets (app_id) values ($1) on conflict (app_id) do nothing", connection))
        {
            ensure.Parameters.Add(new NpgsqlParameter { Value = appId });
            await ensure.ExecuteNonQueryAsync(cancellationToken);
        }

        Dictionary<string, string> env;
        await using (var select = new NpgsqlCommand("select env::text from isola.app_secrets where app_id = $1 for update", connection))
        {
            select.Parameters.Add(new NpgsqlParameter { Value = appId });
            env = JsonSerializer.Deserialize<Dictionary<string, string>>((string)(await select.ExecuteScalarAsync(cancellationToken))!)!;
        }

        if (change(env))
        {
            await using (var update = new NpgsqlCommand(
                "update isola.app_secrets set env = $2::jsonb, version = version + 1, updated_at = now() where app_id = $1", connection))
            {
                update.Parameters.Add(new NpgsqlParameter { Value = appId });
                update.Parameters.Add(new NpgsqlParameter { Value = JsonSerializer.Serialize(env) });
                await update.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var notify = new NpgsqlCommand("select pg_notify($2, app_id || '/' || name) from isola.functions where app_id = $1", connection);
            notify.Parameters.Add(new NpgsqlParameter { Value = appId });
            notify.Parameters.Add(new NpgsqlParameter { Value = FunctionStore.ChangeChannel });
            await notify.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        // This node at once, so the very next invocation starts a worker with the new values; others through the NOTIFY.
        registry.InvalidateApp(appId);
        return [.. env.Keys.Order(StringComparer.Ordinal)];
    }
}
