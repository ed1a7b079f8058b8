using Isola.Host.Data.AppDatabases;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Observability;
using Npgsql;
using static Isola.Host.Data.AppDatabases.AppDatabaseNames;

namespace Isola.Host.Data.Bindings;

/// <summary>
/// MolnOS database bindings (feature D4): a function that declares
/// <c>{"service": "databases", "permissions": [{"resource": "table", "actions": ["read"], "targets": ["orders"]}]}</c>
/// gets its own PostgreSQL login in its app's database, holding exactly those grants (read = SELECT,
/// write = INSERT/UPDATE/DELETE, delete = DELETE, admin or * = all three) and nothing else. Like a
/// service account it bypasses RLS, but it can reach no other table. Grants follow the function's
/// current version: every deploy, update and rollback re-grants, and delete drops the login.
/// </summary>
internal sealed partial class DatabaseBindings(NpgsqlDataSource platform, AppDatabaseNames names, ClaimsSigner signer, ILogger<DatabaseBindings> logger)
{
    public const string Service = "databases";

    /// <summary>The function's login: cluster-wide, so named by the installation and the function id (unique across apps).</summary>
    public string Login(Guid functionId) => $"{names.Prefix}_fn_{functionId:N}";

    /// <summary>Refuses, before anything is stored, a binding to a table the app's database does not have.</summary>
    public async Task ValidateAsync(string appId, IReadOnlyList<BindingSpec> bindings, CancellationToken cancellationToken)
    {
        for (var i = 0; i < bindings.Count; i++)
        {
            if (bindings[i].Service != Service)
            {
                continue;
            }

            for (var j = 0; j < bindings[i].Permissions.Count; j++)
            {
                var permission = bindings[i].Permissions[j];
                var field = $"bindings[{i}].permissions[{j}]";
                if (permission.Resource is not ("table" or "*"))
                {
                    throw IsolaException.InvalidField($"{field}.resource", $"must be 'table' for a databases binding (got '{permission.Resource}')");
                }

                if (permission.Actions.Any(action => action is "publish" or "subscribe"))
                {
                    throw IsolaException.InvalidField($"{field}.actions", "a databases binding takes read, write, delete, admin or *");
                }

                var targets = permission.Targets ?? [];
                var missing = await MissingTablesAsync(appId, targets, cancellationToken);
                if (missing.Count > 0)
                {
                    var index = targets.ToList().IndexOf(missing[0]);
                    throw IsolaException.InvalidField($"{field}.targets[{index}]",
                        $"table '{missing[0]}' does not exist in app '{appId}'s database; create it with a migration first");
                }
            }
        }
    }

    /// <summary>Makes the function's login hold exactly what <paramref name="bindings"/> declare (none: the login is dropped).</summary>
    public async Task ApplyAsync(string appId, Guid functionId, IReadOnlyList<BindingSpec> bindings, CancellationToken cancellationToken)
    {
        var login = Quote(Login(functionId));
        var database = Quote(names.Database(appId));
        var declared = bindings.Where(b => b.Service == Service).SelectMany(b => b.Permissions).ToList();
        await using var connection = await OpenAppDatabaseAsync(appId, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var exists = await RoleExistsAsync(connection, Login(functionId), cancellationToken);
        if (declared.Count == 0)
        {
            if (exists)
            {
                await ExecuteAsync(connection, $"drop owned by {login}; revoke all on database {database} from {login}; drop role {login}", cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
            return;
        }

        // Like service_role it bypasses RLS; unlike it, it holds grants on the declared tables only.
        await ExecuteAsync(connection, (exists ? $"alter role {login} with" : $"create role {login}")
            + $" login noinherit nosuperuser nocreatedb nocreaterole bypassrls password '{signer.LoginPassword(Login(functionId))}'", cancellationToken);
        await ExecuteAsync(connection, $"""
            grant connect on database {database} to {login};
            grant usage on schema public to {login};
            revoke all on all tables in schema public from {login};
            revoke all on all sequences in schema public from {login};
            """, cancellationToken);
        foreach (var permission in declared)
        {
            var privileges = Privileges(permission.Actions);
            if (permission.Targets is not { Count: > 0 } targets)
            {
                await ExecuteAsync(connection, $"grant {privileges} on all tables in schema public to {login}", cancellationToken);
                if (privileges.Contains("insert", StringComparison.Ordinal))
                {
                    await ExecuteAsync(connection, $"grant usage on all sequences in schema public to {login}", cancellationToken);
                }

                continue;
            }

            foreach (var table in targets)
            {
                await ExecuteAsync(connection, $"grant {privileges} on table public.{Quote(table)} to {login}", cancellationToken);
                if (privileges.Contains("insert", StringComparison.Ordinal))
                {
                    // serial columns draw from a sequence the table owns; identity columns need nothing more.
                    await using var sequences = new NpgsqlCommand("""
                        select format('%I.%I', n.nspname, s.relname) from pg_depend d
                        join pg_class s on s.oid = d.objid and s.relkind = 'S'
                        join pg_namespace n on n.oid = s.relnamespace
                        where d.refobjid = to_regclass(format('public.%I', $1)) and d.deptype = 'a'
                        """, connection);
                    sequences.Parameters.Add(new NpgsqlParameter { Value = table });
                    var sequenceNames = new List<string>();
                    await using (var reader = await sequences.ExecuteReaderAsync(cancellationToken))
                    {
                        while (await reader.ReadAsync(cancellationToken))
                        {
                            sequenceNames.Add(reader.GetString(0));
                        }
                    }

                    foreach (var sequence in sequenceNames)
                    {
                        await ExecuteAsync(connection, $"grant usage on sequence {sequence} to {login}", cancellationToken);
                    }
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
        LogGranted(logger, appId, functionId, declared.Count);
    }

    private static string Privileges(IReadOnlyList<string> actions)
    {
        var privileges = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var action in actions)
        {
            switch (action)
            {
                case "read":
                    privileges.Add("select");
                    break;
                case "write":
                    privileges.UnionWith(["insert", "update", "delete"]);
                    break;
                case "delete":
                    privileges.Add("delete");
                    break;
                default: // admin, *
                    privileges.UnionWith(["select", "insert", "update", "delete"]);
                    break;
            }
        }

        return string.Join(", ", privileges);
    }

    private async Task<List<string>> MissingTablesAsync(string appId, IReadOnlyList<string> tables, CancellationToken cancellationToken)
    {
        if (tables.Count == 0)
        {
            return [];
        }

        await using var connection = await OpenAppDatabaseAsync(appId, cancellationToken);
        await using var command = new NpgsqlCommand(
            "select t from unnest($1::text[]) with ordinality as u(t, n) where to_regclass(format('public.%I', t)) is null order by n", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tables.ToArray() });
        var missing = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            missing.Add(reader.GetString(0));
        }

        return missing;
    }

    /// <summary>The platform's own (admin) connection, inside the app's database.</summary>
    private async Task<NpgsqlConnection> OpenAppDatabaseAsync(string appId, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(platform.ConnectionString) { Database = names.Database(appId), Pooling = false };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static async Task<bool> RoleExistsAsync(NpgsqlConnection connection, string role, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select exists (select 1 from pg_roles where rolname = $1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = role });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(EventId = LogEvents.DatabaseBindingGranted, Level = LogLevel.Information, Message = "Database binding of {App}/{Function}: {Count} permission(s) granted")]
    private static partial void LogGranted(ILogger logger, string app, Guid function, int count);
}
