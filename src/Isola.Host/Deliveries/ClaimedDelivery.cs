namespace Isola.Host.Deliveries;

/// <summary>
/// A delivery this node claimed: what to run, which attempt this is, and the event or scheduled call it carries.
/// <see cref="Attempt"/> counts every claim, so a run lost with its node counts too.
/// </summary>
internal sealed record ClaimedDelivery(
    long Id,
    string AppId,
    DeliveryKind Kind,
    Guid FunctionId,
    int Attempt,
    int MaxAttempts,
    int BackoffMs,
    DateTimeOffset ScheduledAt,
    string? ArgsJson,
    PublishedEvent? Event);

