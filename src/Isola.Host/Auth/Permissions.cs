namespace Isola.Host.Auth;

/// <summary>Permission names of the control plane (feature C8, MolnOS).</summary>
internal static class Permissions
{
    public const string Create = "functions.create";
    public const string Read = "functions.read";
    public const string Update = "functions.update";
    public const string Delete = "functions.delete";
    public const string Execute = "functions.execute";
    public const string AppsManage = "apps.manage";

    /// <summary>Apply and list an app's database migrations (runs SQL as the app's owner).</summary>
    public const string DbMigrate = "db.migrate";

    /// <summary>Run a statement in an app's database as service_role (bypasses RLS).</summary>
    public const string DbQuery = "db.query";

    /// <summary>Set and remove an app's secrets (every function of the app sees them).</summary>
    public const string SecretsWrite = "secrets.write";

    /// <summary>Publish an app's events (<c>POST /v1/{app}/events</c>) and redeliver its dead letters.</summary>
    public const string EventsPublish = "events.publish";

    /// <summary>Needed once per bound service when deploying a function with bindings.</summary>
    public static string BindingsCreate(string service) => $"functions.bindings.create:{service}";
}
