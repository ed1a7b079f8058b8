namespace Isola.Host.Data.AppDatabases;

/// <summary>The three roles app SQL runs as, named as Supabase names them so its RLS policies work unchanged.</summary>
internal enum DbRole
{
    /// <summary><c>anon</c>: no token, or the app's anon key. RLS applies.</summary>
    Anon,

    /// <summary><c>authenticated</c>: a signed-in end user, with the token's claims. RLS applies.</summary>
    Authenticated,

    /// <summary><c>service_role</c>: API keys, the service key, cron and events. Bypasses RLS.</summary>
    Service,
}
