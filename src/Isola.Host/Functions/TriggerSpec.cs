namespace Isola.Host.Functions;

/// <summary>
/// One way a function is invoked, in canonical form: <c>{type, config}</c>. The MolnOS form
/// <c>{type:"event", eventName}</c> is folded into <c>config.eventName</c> when parsed.
/// </summary>
internal sealed record TriggerSpec(string Type, IReadOnlyDictionary<string, string> Config)
{
    public const string Http = "http";
    public const string Cron = "cron";
    public const string Event = "event";
    public const string WebSocket = "websocket";

    public static readonly IReadOnlyList<string> Types = [Http, Cron, Event, WebSocket];

    /// <summary>An event trigger's config key: attempts before a delivery is dead-lettered (docs/triggers.md).</summary>
    public const string MaxAttempts = "maxAttempts";

    /// <summary>An event trigger's config key: the first retry's delay in ms; each further one doubles it, with jitter.</summary>
    public const string BackoffMs = "backoffMs";

    public const int MaxMaxAttempts = 100;

    public const int MaxBackoffMs = 3_600_000;

    public static TriggerSpec HttpTrigger { get; } = new(Http, new Dictionary<string, string>());

    public bool Equals(TriggerSpec? other) =>
        other is not null && Type == other.Type && Config.Count == other.Config.Count &&
        Config.All(pair => other.Config.TryGetValue(pair.Key, out var value) && value == pair.Value);

    public override int GetHashCode() => HashCode.Combine(Type, Config.Count);
}
