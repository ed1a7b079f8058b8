using System.Collections.Concurrent;
using System.Text.Json;
using Isola.Host.Functions;
using Npgsql;

namespace Isola.Host.Functions;

/// <summary>
/// Every node's in-memory view of deployed functions' current versions (the gateway and the triggers resolve through it): loaded from PostgreSQL on first use and
/// dropped when a NOTIFY on <see cref="FunctionStore.ChangeChannel"/> says the function changed,
/// so every node routes to the new version at once without polling.
/// </summary>
/// <remarks>
/// Found functions are kept without a bound: there are only as many as operators deployed. Misses are keyed by
/// whatever name a caller sends, before any auth check, so at most <see cref="MaxCachedMisses"/> of them are
/// kept, oldest forgotten first (docs/decisions/008-bounded-miss-cache.md).
/// </remarks>
internal sealed class DeployedFunctionCache(NpgsqlDataSource dataSource)
{
    /// <summary>Names remembered as missing, at most; past it the oldest miss is forgotten and costs one query when asked again.</summary>
    public const int MaxCachedMisses = 1024;

    // Keyed by (app, name or id) as given: no string is built per lookup.
    private readonly ConcurrentDictionary<(string App, string Ref), Task<DeployedFunction?>> _cache = new();

    // Keys in the order their misses were cached; one record per cached miss, so its length bounds them.
    private readonly ConcurrentQueue<(string App, string Ref)> _missOrder = new();
    private int _missRecords;
    private long _lookups;

    /// <summary>Finds the current version by name or id; null if there is no such function.</summary>
    public async ValueTask<DeployedFunction?> FindAsync(string appId, string nameOrId, CancellationToken cancellationToken)
    {
        if (!FunctionRequestParser.IsValidName(nameOrId) && !Guid.TryParse(nameOrId, out _))
        {
            return null; // no deploy could have made it: neither a query nor a cache entry
        }

        var key = (appId, nameOrId);
        // The factory takes its state as an argument: a closure here was allocated on every request.
        var lookup = _cache.TryGetValue(key, out var cached) ? cached : _cache.GetOrAdd(key, static (key, cache) => cache.LoadAndRememberAsync(key), this);
        if (lookup.IsFaulted)
        {
            _cache.TryRemove(new KeyValuePair<(string, string), Task<DeployedFunction?>>(key, lookup));
        }

        // Misses are cached too (calls to a missing name must not each cost a query); a deploy of
        // that name sends the NOTIFY that drops the entry.
        return await lookup.WaitAsync(cancellationToken);
    }

    /// <summary>Called for every NOTIFY payload "app/name".</summary>
    public void Invalidate(string appId, string name)
    {
        foreach (var (key, entry) in _cache)
        {
            // A lookup still loading may have read the database before the change committed: it goes too, or a stale
            // version could stay cached under the function's id (what a caller retrying after a version switch asks for).
            var matches = key == (appId, name) || !entry.IsCompleted ||
                (entry.IsCompletedSuccessfully && entry.Result is { } f && f.AppId == appId && f.Name == name);
            if (matches)
            {
                _cache.TryRemove(key, out _);
            }
        }
    }

    /// <summary>Drops every function of an app (its secrets changed: every one of them loads differently now).</summary>
    public void InvalidateApp(string appId)
    {
        foreach (var key in _cache.Keys)
        {
            if (key.App == appId)
            {
                _cache.TryRemove(key, out _);
            }
        }
    }

    /// <summary>How many names are remembered as missing (for tests and diagnostics).</summary>
    internal int CachedMisses => _cache.Values.Count(t => t.IsCompletedSuccessfully && t.Result is null);

    /// <summary>How many times a lookup went to the database (for tests and diagnostics).</summary>
    internal long DatabaseLookups => Interlocked.Read(ref _lookups);

    /// <summary>After the LISTEN connection was lost, any change may have been missed.</summary>
    public void InvalidateAll() => _cache.Clear();

    private async Task<DeployedFunction?> LoadAndRememberAsync((string App, string Ref) key)
    {
        var found = await LoadAsync(key.App, key.Ref);
        if (found is null)
        {
            _missOrder.Enqueue(key);
            Interlocked.Increment(ref _missRecords);
            ForgetOldestMisses();
        }

        return found;
    }

    private void ForgetOldestMisses()
    {
        while (Volatile.Read(ref _missRecords) > MaxCachedMisses && _missOrder.TryDequeue(out var oldest))
        {
            Interlocked.Decrement(ref _missRecords);
            // Only a cached miss goes: the name may have been deployed (or be looked up again) since.
            if (_cache.TryGetValue(oldest, out var entry) && entry.IsCompletedSuccessfully && entry.Result is null)
            {
                _cache.TryRemove(new KeyValuePair<(string, string), Task<DeployedFunction?>>(oldest, entry));
            }
        }
    }

    private async Task<DeployedFunction?> LoadAsync(string appId, string nameOrId)
    {
        Interlocked.Increment(ref _lookups);
        var byId = Guid.TryParse(nameOrId, out var id);
        await using var command = dataSource.CreateCommand($"""
            select f.id, f.app_id, f.name, f.current_version, v.settings::text, v.artifact_hash, v.env::text, v.source ? 'files',
                   coalesce(s.env, jsonb_build_object())::text, coalesce(s.version, 0)
            from isola.functions f
            join isola.function_versions v on v.function_id = f.id and v.version = f.current_version
            left join isola.app_secrets s on s.app_id = f.app_id
            where f.app_id = $1 and {(byId ? "f.id = $2" : "f.name = $2")}
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        command.Parameters.Add(byId ? new NpgsqlParameter { Value = id } : new NpgsqlParameter { Value = nameOrId });
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            return null;
        }

        return new DeployedFunction(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3),
            SettingsJson.Deserialize(reader.GetString(4)), reader.GetString(5),
            JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(6))!, reader.GetBoolean(7),
            JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(8))!, reader.GetInt64(9));
    }
}
