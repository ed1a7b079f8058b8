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
}
