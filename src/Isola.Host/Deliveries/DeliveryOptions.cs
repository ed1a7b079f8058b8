namespace Isola.Host.Deliveries;

/// <summary>How this node delivers events and scheduled calls (docs/triggers.md).</summary>
internal sealed record DeliveryOptions
{
    /// <summary>Deliveries this node runs at once; a flood of events waits in the table instead of taking every worker and connection.</summary>
    public int MaxConcurrent { get; init; } = 32;

    /// <summary>
    /// How long a claimed delivery stays this node's without a renewal, from the claim (or the last renewal) until
    /// another node may run it again; renewed every third of it while the invocation runs, so only a node that
    /// died (or lost its database) loses its deliveries.
    /// </summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest the dispatcher sleeps without a notification before it looks for due rows anyway (a missed NOTIFY, a retry coming due).</summary>
    public TimeSpan IdlePoll { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Attempts of a delivery when its trigger (or the scheduled call) does not say.</summary>
    public int DefaultMaxAttempts { get; init; } = 5;

    /// <summary>Delay before the first retry when the trigger does not say; each further retry doubles it, with jitter.</summary>
    public int DefaultBackoffMs { get; init; } = 1000;

    /// <summary>Longest delay between two attempts, however many there were.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Chain depth past which an emitted event is dropped, for apps that set none.</summary>
    public int DefaultChainLimit { get; init; } = 8;

    /// <summary>How long a published event's id is remembered (a repeat within it is dropped), from its publication.</summary>
    public TimeSpan EventRetention { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long a dead-lettered delivery is kept for inspection and retry, from when it died.</summary>
    public TimeSpan DeadLetterRetention { get; init; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Age after which a delivery held for an app transaction is checked against that transaction's fate
    /// (committed, rolled back, still open): the node that held it may have died between COMMIT and release.
    /// </summary>
    public TimeSpan HoldCheckAfter { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the maintenance pass runs (held rows, expired events and dead letters).</summary>
    public TimeSpan MaintenanceInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When the node is told to stop, how long deliveries already running may go on, from the stop signal; the
    /// rest are cancelled and handed back (due at once, the attempt not counted) for another node.
    /// </summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(5);
}
