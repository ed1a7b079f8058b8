using System.Security.Cryptography;
using System.Text;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Names of the cluster objects an installation owns. PostgreSQL role names are cluster-wide, so
/// everything Isola creates but the three Supabase roles carries the installation's prefix (the
/// platform database's name): two installations, or many test nodes, can share one server.
/// </summary>
internal sealed class AppDatabaseNames
{
    // 16 + '_' + 40 (longest app id) + "_owner" = 63, PostgreSQL's identifier limit.
    private const int MaxPrefixLength = 16;

    public AppDatabaseNames(string platformDatabase)
    {
        PlatformDatabase = platformDatabase;
        Prefix = platformDatabase.Length <= MaxPrefixLength && IsPlain(platformDatabase)
            ? platformDatabase
            : "i" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(platformDatabase)))[..(MaxPrefixLength - 1)];
    }

    public string PlatformDatabase { get; }

    public string Prefix { get; }

    /// <summary>Login role of the host for <paramref name="role"/>: a member of that one role only, NOINHERIT.</summary>
    public string LoginRole(DbRole role) => $"{Prefix}_login_{RoleName(role)}";

    /// <summary>Login role migrations connect as; a NOINHERIT member of every app owner role.</summary>
    public string Migrator => $"{Prefix}_migrator";

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
