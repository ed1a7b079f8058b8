using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Functions;

namespace Isola.Host.Invocations;

/// <summary>
/// A non-HTTP invocation: the function sees a <c>POST /</c> whose JSON body is <see cref="Payload"/>
/// (also <c>ctx.trigger</c>; the MolnOS <c>handler(event, context)</c> gets it as <c>event</c>).
/// The payload's <c>type</c> is the trigger kind's name.
/// </summary>
/// <param name="Deadline">When the host gives up; null means the function's own timeout from now.</param>
/// <param name="InvocationId">A caller-chosen id (e.g. to tie retries together in logs); null picks a new one.</param>
/// <param name="EmitDepth">The chain depth events emitted by this invocation get (an event's handler: its depth + 1).</param>
/// <param name="CallDepth">For a typed function: how many typed calls led here (ctx.runQuery inside ctx.runQuery …).</param>
/// <param name="MaxBodyBytes">The most of the response kept; past it the invocation fails.</param>
internal sealed record TriggerInvocation(DeployedFunction Function, Caller Caller, TriggerKind Trigger, JsonObject Payload, DateTimeOffset? Deadline = null, string? InvocationId = null,
    int EmitDepth = 0, int CallDepth = 0, int MaxBodyBytes = InvocationOutcome.MaxBodyBytes);

/// <summary>What a typed function's invocation may do: <c>ctx.db.unsafe</c>, and with strict policies off, <c>ctx.db</c> as service_role too.</summary>
internal sealed record TypedGrant(bool DbAsService, int CallDepth);
