namespace Isola.Host.Deliveries;

/// <summary>What a delivery row carries; stored as <c>kind</c>.</summary>
internal enum DeliveryKind
{
    /// <summary>An event for one subscribed function.</summary>
    Event,

    /// <summary>A call scheduled with <c>ctx.scheduler</c>.</summary>
    Scheduled,
}
