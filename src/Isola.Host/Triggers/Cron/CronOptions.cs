namespace Isola.Host.Triggers.Cron;

/// <summary>How cron triggers fire and how long their tick rows are kept (docs/triggers.md#cron, decision 017).</summary>
internal sealed record CronOptions
{
    /// <summary>
    /// How old a tick may be, from its time to the moment a node tries to claim it, and still run. A node
    /// that starts (or loads a new cron) looks back this far and runs only the most recent tick nobody ran;
    /// older ticks, missed while every node was down, are never run.
    /// </summary>
    public TimeSpan MissedTickGrace { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Added to the function's timeout to give the lease of a running tick, from its claim: until the run
    /// finishes or the lease ends, later ticks of that trigger are skipped. A node that died mid-run holds
    /// its cron no longer than this.
    /// </summary>
    public TimeSpan LeaseMargin { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a tick row is kept, from its tick to the clean-up that deletes it; bounds the table.</summary>
    public TimeSpan TickRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>From one clean-up of old tick rows to the next, on each node.</summary>
    public TimeSpan CleanupInterval { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// From one load of the cron list to the next when no change notice came; a safety net for a notice
    /// lost while the change listener reconnected. Deploys take effect at once through the notice.
    /// </summary>
    public TimeSpan ResyncInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>From a failed database call of the cron loop to its first retry; doubles up to 30 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Next run times a function's GET shows per cron trigger.</summary>
    public int NextRunsShown { get; init; } = 5;

    /// <summary>Latest ticks a function's GET shows per cron trigger.</summary>
    public int RecentTicksShown { get; init; } = 10;
}
