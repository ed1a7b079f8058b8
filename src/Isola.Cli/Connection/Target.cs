using System.Net;

namespace Isola.Cli.Connection;

/// <summary>
/// Which node, key and app a verb talks to. Each is taken from the first place that has it: the flags
/// (<c>--url --key --app</c>), then <c>ISOLA_URL</c> / <c>ISOLA_API_KEY</c>, then the profile <c>isola login</c>
/// saved, then <c>http://127.0.0.1:8787</c> with the key in <c>./.isola/admin.key</c>.
/// </summary>
internal sealed record Target(Uri Url, string? Key, string App, string KeySource)
{
    public const string DefaultUrl = "http://127.0.0.1:8787";

    public static Target Resolve(string? urlFlag, string? keyFlag, string? appFlag, string workingDir)
    {
        var profile = Profile.Load();
        var urlText = urlFlag ?? (Environment.GetEnvironmentVariable("ISOLA_URL") is { Length: > 0 } fromEnv ? fromEnv : null) ?? profile?.Url ?? DefaultUrl;
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https"))
        {
            throw new CliException($"'{urlText}' is not an http(s) URL (from --url, ISOLA_URL or the profile)", ExitCodes.Usage);
        }

        var (key, source) = keyFlag is not null ? (keyFlag, "--key")
            : Environment.GetEnvironmentVariable("ISOLA_API_KEY") is { Length: > 0 } envKey ? (envKey, "ISOLA_API_KEY")
            // A saved key goes only to the node it was saved for, never to another URL.
            : profile is not null && SameNode(profile.Url, url) ? (profile.Key, Profile.Path)
            : LocalAdminKey(url, workingDir);
        return new Target(url, key, appFlag ?? (profile is not null && SameNode(profile.Url, url) ? profile.App : null) ?? "default", source);
    }

    /// <summary>The key <c>./isola serve</c> wrote, for a node on this machine only.</summary>
    private static (string? Key, string Source) LocalAdminKey(Uri url, string workingDir)
    {
        var path = Path.Combine(workingDir, ".isola", "admin.key");
        var local = url.IsLoopback || (IPAddress.TryParse(url.Host, out var address) && IPAddress.IsLoopback(address));
        return local && File.Exists(path) ? (File.ReadAllText(path).Trim(), path) : (null, "none");
    }

    private static bool SameNode(string saved, Uri url) =>
        Uri.TryCreate(saved, UriKind.Absolute, out var savedUrl) && Uri.Compare(savedUrl, url, UriComponents.SchemeAndServer | UriComponents.Path,
            UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0;
}
