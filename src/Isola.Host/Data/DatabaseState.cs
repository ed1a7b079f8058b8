namespace Isola.Host.Data;

/// <summary>
/// What the node knows about its database beyond "a query works right now": whether the embedded
/// PostgreSQL is being restarted, and why. Read by <c>/health</c>; written by the postmaster watch.
/// </summary>
internal sealed class DatabaseState
{
    private volatile string? _outage;

    /// <summary>Null while the database is up; else what happened and what is being done about it.</summary>
    public string? Outage => _outage;

    public void MarkDown(string reason) => _outage = reason;

    public void MarkUp() => _outage = null;
}
