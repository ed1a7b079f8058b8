namespace Isola.Host.Auth;

/// <summary>A stored API key as the control plane sees it: who it is and what it may do; never the secret.</summary>
internal sealed record ApiKey(Guid Id, string Name, string Prefix, IReadOnlyList<string> Permissions, string? AppId, DateTimeOffset? ExpiresAt)
{
    /// <summary>The wildcard permission held by admin keys.</summary>
    public const string AdminPermission = "*";

    public bool IsAdmin => Permissions.Contains(AdminPermission);

    /// <summary>True when the key grants <paramref name="permission"/> on <paramref name="appId"/> (null: not app-specific).</summary>
    public bool Allows(string permission, string? appId)
    {
        if (AppId is not null && appId is not null && AppId != appId)
        {
            return false;
        }

        return IsAdmin || Permissions.Contains(permission);
    }
}
