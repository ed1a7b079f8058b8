namespace Isola.Host.Auth;

/// <summary>An app's token settings, with its signing secret opened (in memory only).</summary>
internal sealed record AppAuth(string AppId, byte[] Secret, string? JwksUrl, string? Audience, DateTimeOffset RotatedAt)
{
    /// <summary>Role claim of the app's anon key (Supabase's name).</summary>
    public const string AnonRole = "anon";

    /// <summary>Role claim of the app's service key (Supabase's name).</summary>
    public const string ServiceRole = "service_role";
}
