using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Deliveries;
using Isola.Host.Errors;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Events;

/// <summary>
/// <c>ctx.events.emit(name, data)</c> on the host: publishes in the invocation's app at its chain depth
/// (<see cref="CapabilityGrant.EmitDepth"/>). With <c>tx</c> (the emit ran inside <c>ctx.db.transaction</c>) the
/// event's deliveries wait for that transaction to commit (decision 018).
/// </summary>
internal sealed class EventCallHandler(EventPublisher publisher, TransactionHolds holds) : IHostCallHandler
{
    public string Family => "events";

    public async ValueTask<JsonNode?> HandleAsync(HostCall call, CancellationToken cancellationToken)
    {
        if (call.Op != "events.emit")
        {
            throw new HostCallException(ErrorCodes.UnknownCall, $"the host does not serve '{call.Op}'");
        }

        var args = call.Args;
        if (args.ValueKind != JsonValueKind.Object || !args.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            throw new HostCallException(ErrorCodes.InvalidArgs, "ctx.events.emit(name, data) needs the event's name as a string");
        }

        var name = nameElement.GetString()!;
        if (EventPublisher.NameProblem(name) is { } nameProblem)
        {
            throw new HostCallException(ErrorCodes.InvalidArgs, "the event name " + nameProblem);
        }

        string? id = null;
        if (args.TryGetProperty("id", out var idElement) && idElement.ValueKind != JsonValueKind.Null)
        {
            id = idElement.ValueKind == JsonValueKind.String ? idElement.GetString()! : throw new HostCallException(ErrorCodes.InvalidArgs, "the event id must be a string");
            if (EventPublisher.IdProblem(id) is { } idProblem)
            {
                throw new HostCallException(ErrorCodes.InvalidArgs, "the event id " + idProblem);
            }
        }

        var data = args.TryGetProperty("data", out var dataElement) ? dataElement.GetRawText() : "null";
        if (EventPublisher.DataSizeProblem(data) is { } tooLarge)
        {
            throw new HostCallException(ErrorCodes.PayloadTooLarge, "the event's data " + tooLarge);
        }

        if (EventPublisher.DataContentProblem(data) is { } unstorable)
        {
            throw new HostCallException(ErrorCodes.InvalidArgs, "the event's data " + unstorable);
        }

        var heldXid = await holds.HeldXidAsync(call, cancellationToken);

        var result = await publisher.PublishAsync(call.Grant.AppId, id, name, data, call.Grant.EmitDepth, heldXid, cancellationToken);
        return result.Outcome switch
        {
            EventPublisher.Outcome.TooDeep => throw new HostCallException(ErrorCodes.EventChainTooDeep,
                $"event '{name}' would be at chain depth {call.Grant.EmitDepth}, past app '{call.Grant.AppId}''s limit of {result.ChainLimit}: dropped " +
                "(an event handler emitting events that lead back to it?)"),
            EventPublisher.Outcome.AppNotFound => throw new HostCallException(ErrorCodes.AppNotFound, $"app '{call.Grant.AppId}' no longer exists"),
            _ => new JsonObject { ["id"] = result.Id },
        };
    }
}
