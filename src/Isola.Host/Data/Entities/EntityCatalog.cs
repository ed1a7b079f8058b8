using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Workers.Calls;
using Isola.Host.Errors;

namespace Isola.Host.Data.Entities;

/// <summary>
/// The tables of each app's <c>public</c> schema, read from the catalog and kept for a few seconds. A name that is
/// not found reloads it at once (at most once a second), so a table a migration just made, on any node, is found
/// by the next call.
/// </summary>
internal sealed class EntityCatalog(SqlExecutor executor, TimeProvider time)
{
    private static readonly TimeSpan FreshFor = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReloadAtMostEvery = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<string, Snapshot> _apps = new(StringComparer.Ordinal);

    private sealed record Snapshot(Task<IReadOnlyDictionary<string, EntityTable>> Tables, DateTimeOffset LoadedAt);

    /// <summary>The table of <paramref name="entity"/>; INVALID_ARGS naming the names tried when there is none.</summary>
    public async Task<EntityTable> TableAsync(string appId, string entity, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var tables = await TablesAsync(appId, deadline, reload: false, cancellationToken);
        var found = Find(tables, entity) ?? Find(await TablesAsync(appId, deadline, reload: true, cancellationToken), entity);
        return found ?? throw new HostCallException(ErrorCodes.InvalidArgs,
            $"no table for the entity '{entity}' in app '{appId}' (looked for {string.Join(", ", EntityNames.TablesFor(entity).Distinct().Select(n => "public." + n))}); create it with a migration");
    }

    /// <summary>Forgets an app's tables (after a migration on this node).</summary>
    public void Invalidate(string appId) => _apps.TryRemove(appId, out _);

    private static EntityTable? Find(IReadOnlyDictionary<string, EntityTable> tables, string entity) =>
        EntityNames.TablesFor(entity).Select(name => tables.GetValueOrDefault(name)).FirstOrDefault(table => table is not null);

    private async Task<IReadOnlyDictionary<string, EntityTable>> TablesAsync(string appId, DateTimeOffset deadline, bool reload, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var snapshot = _apps.AddOrUpdate(appId,
            _ => new Snapshot(LoadAsync(appId, deadline), now),
            (_, current) => current.Tables is { IsCompleted: true, IsCompletedSuccessfully: false } || now - current.LoadedAt > FreshFor ||
                (reload && now - current.LoadedAt > ReloadAtMostEvery)
                ? new Snapshot(LoadAsync(appId, deadline), now)
                : current);
        // Shared by every caller: one caller giving up stops its own wait, not the load.
        return await snapshot.Tables.WaitAsync(cancellationToken);
    }

    private async Task<IReadOnlyDictionary<string, EntityTable>> LoadAsync(string appId, DateTimeOffset deadline)
    {
        var result = await executor.ExecuteAsync(appId, DbCaller.Service, """
            select c.relname as name, c.relkind in ('v', 'm') as is_view,
              (select json_agg(a.attname order by a.attnum) from pg_attribute a
                where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped) as columns,
              (select json_agg(a.attname) from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any (i.indkey)
                where i.indrelid = c.oid and i.indisprimary) as primary_key,
              (select json_object_agg(a.attname, t.relname) from pg_constraint f
                join pg_attribute a on a.attrelid = f.conrelid and a.attnum = f.conkey[1]
                join pg_class t on t.oid = f.confrelid
                where f.conrelid = c.oid and f.contype = 'f' and cardinality(f.conkey) = 1) as foreign_keys
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'f')
            """, [], deadline, CancellationToken.None);
        var tables = new Dictionary<string, EntityTable>(StringComparer.Ordinal);
        foreach (var row in result.Rows)
        {
            var name = row["name"]!.GetValue<string>();
            var columns = Strings(row["columns"]);
            var primaryKey = Strings(row["primary_key"]);
            var id = primaryKey.Count == 1 ? primaryKey[0] : columns.Contains("id") ? "id" : null;
            var foreignKeys = row["foreign_keys"] is JsonObject keys
                ? keys.ToDictionary(pair => pair.Key, pair => pair.Value!.GetValue<string>(), StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal);
            tables[name] = new EntityTable(name, columns, id, foreignKeys, row["is_view"]!.GetValue<bool>());
        }

        return tables;
    }

    private static List<string> Strings(JsonNode? node) =>
        node is JsonArray array ? [.. array.Select(item => item!.GetValue<string>())] : [];
}
