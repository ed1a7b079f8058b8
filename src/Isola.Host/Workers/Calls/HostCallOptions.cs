namespace Isola.Host.Workers.Calls;

/// <summary>Bounds on the calls functions make to the host (runtime/PROTOCOL.md, "Calls").</summary>
internal sealed record HostCallOptions
{
    /// <summary>Calls one worker may have answered at once; more wait for a turn (their invocation's deadline still applies).</summary>
    public int MaxConcurrentCallsPerWorker { get; init; } = 8;

    /// <summary>Largest call frame (one JSON line, e.g. a query and its parameters); a larger one closes the channel.</summary>
    public int MaxFrameBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// How long an invocation's capability outlives its deadline when the runtime never releases it
    /// (work started with waitUntil keeps it until it settles, but not longer than this).
    /// </summary>
    public TimeSpan BackgroundGrace { get; init; } = TimeSpan.FromMinutes(2);
}
