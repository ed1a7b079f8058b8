using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Deliveries;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Scheduling;

/// <summary>
/// <c>ctx.scheduler</c> on the host (T5): <c>runAfter</c> and <c>runAt</c> store a durable call of a function of
/// the same app, delivered like an event (retries, dead letter); <c>cancel</c> removes one not yet started.
/// Inside <c>ctx.db.transaction</c> the call exists only if the transaction commits (decision 018).
/// </summary>
internal sealed class SchedulerCallHandler(DeliveryStore store, DeployedFunctionCache functions, TransactionHolds holds) : IHostCallHandler
{
    /// <summary>Furthest ahead a call may be scheduled.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(366);

    public string Family => "scheduler";

    public async ValueTask<JsonNode?> HandleAsync(HostCall call, CancellationToken cancellationToken)
    {
        var args = call.Args;
        if (args.ValueKind != JsonValueKind.Object)
        {
            throw new HostCallException(ErrorCodes.InvalidArgs, $"'{call.Op}' needs an object of arguments");
        }

        switch (call.Op)
        {
            case "scheduler.runAfter":
                var delayMs = args.TryGetProperty("delayMs", out var delayElement) && delayElement.ValueKind == JsonValueKind.Number &&
                    delayElement.TryGetDouble(out var ms) && ms >= 0 && ms <= MaxDelay.TotalMilliseconds
                    ? ms
                    : throw new HostCallException(ErrorCodes.InvalidArgs, $"ctx.scheduler.runAfter(delayMs, functionName, args) needs delayMs as a number from 0 to {MaxDelay.TotalMilliseconds:0}");
                return await ScheduleAsync(call, runAt: null, TimeSpan.FromMilliseconds(delayMs), cancellationToken);
            case "scheduler.runAt":
                var at = args.TryGetProperty("at", out var atElement) && atElement.ValueKind == JsonValueKind.Number && atElement.TryGetDouble(out var epochMs) &&
                    epochMs is >= 0 and <= 253402300799999
                    ? DateTimeOffset.FromUnixTimeMilliseconds((long)epochMs)
                    : throw new HostCallException(ErrorCodes.InvalidArgs, "ctx.scheduler.runAt(date, functionName, args) needs a date (a Date, epoch milliseconds or an ISO 8601 string)");
                if (at - DateTimeOffset.UtcNow > MaxDelay)
                {
                    throw new HostCallException(ErrorCodes.InvalidArgs, $"ctx.scheduler.runAt: {at:O} is more than {MaxDelay.TotalDays:0} days ahead");
                }

                return await ScheduleAsync(call, at, delay: null, cancellationToken);
            case "scheduler.cancel":
                var id = args.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
                var cancelled = long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var callId) &&
                    await store.CancelAsync(call.Grant.AppId, callId, cancellationToken);
                return new JsonObject { ["cancelled"] = cancelled };
            default:
                throw new HostCallException(ErrorCodes.UnknownCall, $"the host does not serve '{call.Op}'");
        }
    }

    private async Task<JsonNode> ScheduleAsync(HostCall call, DateTimeOffset? runAt, TimeSpan? delay, CancellationToken cancellationToken)
    {
        var args = call.Args;
        var name = args.TryGetProperty("function", out var nameElement) && nameElement.ValueKind == JsonValueKind.String
            ? nameElement.GetString()!
            : throw new HostCallException(ErrorCodes.InvalidArgs, "the scheduler needs the name of the function to call, as a string");
        var function = await functions.FindAsync(call.Grant.AppId, name, cancellationToken)
            ?? throw new HostCallException(ErrorCodes.FunctionNotFound, $"app '{call.Grant.AppId}' has no function '{name}' to schedule");
        var argsJson = args.TryGetProperty("args", out var argsElement) ? argsElement.GetRawText() : "null";
        if (Events.EventPublisher.DataSizeProblem(argsJson) is { } tooLarge)
        {
            throw new HostCallException(ErrorCodes.PayloadTooLarge, "the scheduled call's args " + tooLarge);
        }

        if (Events.EventPublisher.DataContentProblem(argsJson) is { } unstorable)
        {
            throw new HostCallException(ErrorCodes.InvalidArgs, "the scheduled call's args " + unstorable);
        }

        var heldXid = await holds.HeldXidAsync(call, cancellationToken);

        try
        {
            var id = await store.ScheduleAsync(call.Grant.AppId, function.Id, argsJson, runAt, delay, heldXid, cancellationToken);
            return new JsonObject { ["id"] = id.ToString(CultureInfo.InvariantCulture) };
        }
        catch (Npgsql.PostgresException ex) when (ex.SqlState == Npgsql.PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new HostCallException(ErrorCodes.FunctionNotFound, $"function '{name}' was deleted while the call was being scheduled");
        }
    }
}
