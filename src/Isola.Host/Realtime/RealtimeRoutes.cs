using System.Collections.Concurrent;
using Isola.Host.Functions;
using Npgsql;

namespace Isola.Host.Realtime;

/// <summary>
/// Which functions of an app handle a realtime event: the current versions with a
/// <c>{"type":"websocket","config":{"event":…}}</c> trigger. One query per app, kept until a function of the
/// app changes (<see cref="FunctionChanges"/>, raised on every node by the change NOTIFY), so a redeploy takes
/// effect for the next message on connections that stay open.
/// </summary>
internal sealed class RealtimeRoutes
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly DeployedFunctionCache _functions;
    private readonly ConcurrentDictionary<string, Task<ILookup<string, string>>> _byApp = new(StringComparer.Ordinal);

    public RealtimeRoutes(NpgsqlDataSource dataSource, DeployedFunctionCache functions, FunctionChanges changes)
    {
        _dataSource = dataSource;
        _functions = functions;
        changes.Changed += Forget;
        changes.Reset += () => _byApp.Clear();
    }

    private void Forget(string appId, string functionName) => _byApp.TryRemove(appId, out _);

    /// <summary>The deployed functions that run for <paramref name="eventName"/>; empty when none does.</summary>
    public async Task<IReadOnlyList<DeployedFunction>> FindAsync(string appId, string eventName, CancellationToken cancellationToken)
    {
        var lookup = _byApp.GetOrAdd(appId, LoadAsync);
        if (lookup.IsFaulted || lookup.IsCanceled)
        {
            _byApp.TryRemove(new KeyValuePair<string, Task<ILookup<string, string>>>(appId, lookup));
        }

        var handlers = new List<DeployedFunction>();
        foreach (var name in (await lookup.WaitAsync(cancellationToken))[eventName])
        {
            // The cache holds the version to run; it may have moved on since the lookup was loaded.
            var function = await _functions.FindAsync(appId, name, cancellationToken);
            if (function is not null && !function.Settings.Internal &&
                function.Settings.Triggers.Any(t => t.Type == TriggerSpec.WebSocket && t.Config.GetValueOrDefault("event") == eventName))
            {
                handlers.Add(function);
            }
        }

        return handlers;
    }

    private async Task<ILookup<string, string>> LoadAsync(string appId)
    {
        await using var command = _dataSource.CreateCommand("""
            select distinct t->'config'->>'event', f.name
            from isola.functions f
            join isola.function_versions v on v.function_id = f.id and v.version = f.current_version
            cross join lateral jsonb_array_elements(v.settings->'triggers') t
            where f.app_id = $1 and t->>'type' = 'websocket'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = appId });
        var routes = new List<(string Event, string Function)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            routes.Add((reader.GetString(0), reader.GetString(1)));
        }

        return routes.ToLookup(r => r.Event, r => r.Function, StringComparer.Ordinal);
    }
}
