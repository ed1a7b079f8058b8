namespace Isola.Host.Functions;

/// <summary>
/// A function's network rules (deploy field <c>network</c>). By default a function reaches the public
/// internet only; <see cref="AllowPrivate"/> also opens loopback, private (RFC 1918, unique-local) and
/// the host's own addresses, so it can reach services beside the node (decision 009).
/// </summary>
internal sealed record NetworkSettings
{
    public static readonly NetworkSettings Default = new();

    /// <summary>
    /// Lets the function connect to loopback, private and host addresses: every unauthenticated
    /// service there (a database, an admin port, another tenant's server) becomes reachable from its
    /// code. Cloud metadata (169.254.0.0/16), 0.0.0.0/::, the node's own port and TCP listens stay closed.
    /// </summary>
    public bool AllowPrivate { get; init; }
}
