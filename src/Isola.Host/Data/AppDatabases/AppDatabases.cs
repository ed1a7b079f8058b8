using System.Collections.Concurrent;
using Npgsql;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Connection pools into app databases, one per app and login role, made on first use. The host
/// never reaches app data as a superuser or owner: each pool logs in as the app's own role that is a
/// NOINHERIT member of exactly one of anon / authenticated / service_role (decision 012).
/// </summary>
internal sealed class AppDatabases(NpgsqlDataSource platform, AppDatabaseNames names, ClaimsSigner signer, DataOptions options) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(string App, string Login), NpgsqlDataSource> _pools = new();

    public AppDatabaseNames Names => names;

    public ClaimsSigner Signer => signer;

    public DataOptions Options => options;

    /// <summary>A pool into the app's database that logs in as the login role of <paramref name="role"/>.</summary>
    public NpgsqlDataSource For(string appId, DbRole role) => Pool(appId, names.LoginRole(appId, role));

    /// <summary>A pool that logs in as a function's binding login (Data/Bindings), which holds only its declared grants.</summary>
    public NpgsqlDataSource ForBinding(string appId, string login) => Pool(appId, login);

    /// <summary>A pool that logs in as the app's migrator, which may only SET ROLE to the app's owner.</summary>
    public NpgsqlDataSource Migrator(string appId) => Pool(appId, names.Migrator(appId));

    /// <summary>
    /// A one-connection pool of the app's service login, apart from the callers' pools, that a node keeps LISTENing on
    /// the app database (live queries): it never takes a connection from the functions.
    /// </summary>
    public NpgsqlDataSource Listener(string appId) => _pools.GetOrAdd((appId, "listen:" + names.LoginRole(appId, DbRole.Service)), key =>
    {
        var login = names.LoginRole(key.App, DbRole.Service);
        var builder = new NpgsqlConnectionStringBuilder(platform.ConnectionString)
        {
            Database = names.Database(key.App),
            Username = login,
            Password = signer.LoginPassword(login),
            MaxPoolSize = 1,
            // Nothing but LISTEN runs on it: no reset needed between uses.
            NoResetOnClose = true,
        };
        return NpgsqlDataSource.Create(builder.ConnectionString);
    });

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _pools.Values)
        {
            await pool.DisposeAsync();
        }

        _pools.Clear();
    }

    private NpgsqlDataSource Pool(string appId, string login) => _pools.GetOrAdd((appId, login), key =>
    {
        var builder = new NpgsqlConnectionStringBuilder(platform.ConnectionString)
        {
            Database = names.Database(key.App),
            Username = key.Login,
            Password = signer.LoginPassword(key.Login),
            MaxPoolSize = options.MaxPoolSizePerRole,
            // The pool resets session state (DISCARD ALL) between callers: a SET that SQL made
            // outside our transaction-local settings never reaches the next caller.
            NoResetOnClose = false,
            // Migrations report which statement failed (PostgresException.BatchCommand) to place the error.
            IncludeFailedBatchedCommand = true,
        };
        return NpgsqlDataSource.Create(builder.ConnectionString);
    });
}
