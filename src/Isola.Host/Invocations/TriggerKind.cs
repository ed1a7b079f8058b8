namespace Isola.Host.Invocations;

/// <summary>What started an invocation; stored in every invocation record as <c>trigger</c>.</summary>
internal enum TriggerKind
{
    Http,
    Cron,
    Event,
    Scheduled,
    WebSocket,

    /// <summary>A typed function called by name: <c>/api/fn</c>, <c>ctx.runQuery</c> / <c>ctx.runMutation</c>, a live query's run.</summary>
    Rpc,
}

internal static class TriggerKinds
{
    /// <summary>The name used in records, envelopes (<c>x-isola-trigger</c>) and payloads' <c>type</c>.</summary>
    public static string Name(this TriggerKind kind) => kind switch
    {
        TriggerKind.Http => "http",
        TriggerKind.Cron => "cron",
        TriggerKind.Event => "event",
        TriggerKind.Scheduled => "scheduled",
        TriggerKind.WebSocket => "websocket",
        TriggerKind.Rpc => "rpc",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
