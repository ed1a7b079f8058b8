using Isola.Host.Auth;

namespace Isola.Host.Workers.Calls;

/// <summary>
/// What one invocation may ask of the host over its worker's call channel: the app and function it
/// runs for, and as whom. Bound to one worker; ends with the invocation (runtime/PROTOCOL.md, "Calls").
/// </summary>
internal sealed record CapabilityGrant(string InvocationId, string WorkerId, string AppId, Guid FunctionId, string FunctionName, Caller Caller, DateTimeOffset Deadline)
{
    /// <summary>When the grant lapses even if the worker never released it: the deadline plus the background grace.</summary>
    public DateTimeOffset ExpiresAt { get; init; } = Deadline;

    /// <summary>Services the function's version declares bindings for (e.g. <c>databases</c>).</summary>
    public IReadOnlyList<string> BoundServices { get; init; } = [];

    /// <summary>The chain depth of an event this invocation emits: one more than the event it handles, else 0 (docs/triggers.md).</summary>
    public int EmitDepth { get; init; }

    /// <summary>A typed function's invocation: <c>ctx.db.unsafe</c> (service_role) is open to it.</summary>
    public bool Typed { get; init; }

    /// <summary>A typed function of an app with strict policies off: its plain <c>ctx.db</c> runs as service_role too (R4).</summary>
    public bool DbAsService { get; init; }

    /// <summary>How many typed calls (ctx.runQuery, ctx.runMutation) led to this invocation; bounded so a loop of them ends.</summary>
    public int CallDepth { get; init; }
}
