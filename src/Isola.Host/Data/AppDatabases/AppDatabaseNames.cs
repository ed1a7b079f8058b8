using System.Security.Cryptography;
using System.Text;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Names of the cluster objects Isola makes. PostgreSQL role names are cluster-wide, so everything
/// but the three Supabase roles carries the app's database name, which starts with the
/// installation's prefix (the platform database's name): two installations, or many test nodes,
/// can share one server, and each app's roles can connect to that app's database only.
/// </summary>
internal sealed class AppDatabaseNames
{
    // 14 + '_' + 40 (longest app id) + "_service" = 63, PostgreSQL's identifier limit.
    private const int MaxPrefixLength = 14;

    public AppDatabaseNames(string platformDatabase)
    {
        PlatformDatabase = platformDatabase;
        Prefix = platformDatabase.Length <= MaxPrefixLength && IsPlain(platformDatabase)
            ? platformDatabase
            : "i" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(platformDatabase)))[..(MaxPrefixLength - 1)];
    }

    public string PlatformDatabase { get; }

    public string Prefix { get; }

    /// <summary>
    /// The host's login into the app's database for <paramref name="role"/>: a NOINHERIT member of
    /// that one role only, with CONNECT on that one database (<c>isola_default_anon</c>, <c>_user</c>, <c>_service</c>).
    /// </summary>
    public string LoginRole(string appId, DbRole role) => Database(appId) + role switch
    {
        DbRole.Anon => "_anon",
        DbRole.Authenticated => "_user",
        _ => "_service",
    };

    /// <summary>The login migrations connect as: a NOINHERIT member of the app's owner role only.</summary>
    public string Migrator(string appId) => Database(appId) + "_migrate";

    /// <summary>Every login role of the app, in a fixed order.</summary>
    public IEnumerable<string> Logins(string appId) =>
        [LoginRole(appId, DbRole.Anon), LoginRole(appId, DbRole.Authenticated), LoginRole(appId, DbRole.Service), Migrator(appId)];

    /// <summary>The app's database: <c>isola_default</c> for the app <c>default</c> of the platform database <c>isola</c>.</summary>
    public string Database(string appId) => $"{Prefix}_{appId.Replace('-', '_')}";

    /// <summary>Owner of the app's database and of everything migrations create (NOLOGIN).</summary>
    public string Owner(string appId) => Database(appId) + "_owner";

    public static string RoleName(DbRole role) => role switch
    {
        DbRole.Anon => "anon",
        DbRole.Authenticated => "authenticated",
        _ => "service_role",
    };

    /// <summary>Double-quotes an identifier for SQL text (names here are generated, but quoting is cheap).</summary>
    public static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static bool IsPlain(string name) => name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_') && name[0] is >= 'a' and <= 'z';
}
