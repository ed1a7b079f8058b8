namespace Isola.Client;

/// <summary>Filters for <see cref="FunctionsApi.LogsAsync"/>.</summary>
public sealed class LogQuery
{
    /// <summary>Only invocations that ended with this status.</summary>
    public int? Status { get; set; }

    /// <summary>Only failed invocations (status 500 or more, or an error recorded).</summary>
    public bool ErrorsOnly { get; set; }

    public DateTimeOffset? Since { get; set; }

    public DateTimeOffset? Until { get; set; }

    /// <summary>At most this many, newest first (the server's default is 50).</summary>
    public int? Limit { get; set; }
}
