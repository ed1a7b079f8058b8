using Isola.Host.Deliveries;
using Isola.Host.Functions;
using Isola.Host.Hosting;
using Isola.Host.Observability;

namespace Isola.Host.Events;

/// <summary>
/// Publishes an event of an app (from <c>POST /v1/{app}/events</c> or <c>ctx.events.emit</c>): checks what the
/// publisher sent, then stores the event with one delivery per subscribed function in one statement. An event
/// past the app's chain limit is dropped and logged as <c>EVENT_CHAIN_TOO_DEEP</c>.
/// </summary>
internal sealed partial class EventPublisher(DeliveryStore store, ILogger<EventPublisher> logger)
{
    /// <summary>Largest <c>data</c> of one event, as JSON text.</summary>
    public const int MaxDataBytes = 256 * 1024;

    /// <summary>Longest publisher-chosen event id.</summary>
    public const int MaxIdLength = 200;

    public enum Outcome
    {
        /// <summary>Stored and fanned out (to no one, when nothing subscribes).</summary>
        Published,

        /// <summary>An event with this id was published before: dropped, nothing delivered again.</summary>
        Duplicate,

        /// <summary>Deeper than the app's chain limit: dropped.</summary>
        TooDeep,

        AppNotFound,
    }

    public sealed record Result(string Id, Outcome Outcome, int Subscribers, int? ChainLimit);

    /// <summary>A new event id: time-ordered, 32 hex characters.</summary>
    public static string NewId() => TimeOrderedId.New();

    /// <summary>Why <paramref name="name"/> cannot name an event, or null when it can.</summary>
    public static string? NameProblem(string name) => Validation.JsonFields.IsValidToken(name)
        ? null
        : $"must be 1-200 characters of letters, digits and . _ - : / (got '{(name.Length <= 40 ? name : name[..40] + "…")}')";

    /// <summary>Why <paramref name="id"/> cannot be an event id, or null when it can.</summary>
    public static string? IdProblem(string id) => id.Length is > 0 and <= MaxIdLength && !id.Any(char.IsControl)
        ? null
        : $"must be 1-{MaxIdLength} characters without control characters";

    /// <summary>Why <paramref name="dataJson"/> is too large to publish, or null.</summary>
    public static string? DataSizeProblem(string dataJson)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(dataJson);
        return bytes <= MaxDataBytes ? null : $"is {bytes} bytes of JSON; the limit is {MaxDataBytes}";
    }

    /// <summary>Why <paramref name="dataJson"/> (valid JSON) cannot be stored, or null: jsonb refuses the NUL character.</summary>
    public static string? DataContentProblem(string dataJson)
    {
        var reader = new System.Text.Json.Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(dataJson));
        while (reader.Read())
        {
            if (reader.TokenType is System.Text.Json.JsonTokenType.String or System.Text.Json.JsonTokenType.PropertyName &&
                reader.ValueIsEscaped && reader.GetString()!.Contains('\0', StringComparison.Ordinal))
            {
                return "holds the character \\u0000, which PostgreSQL's jsonb cannot store";
            }
        }

        return null;
    }

    /// <summary>
    /// Stores the event (validated by the caller) at <paramref name="depth"/>; with <paramref name="heldXid"/> its
    /// deliveries wait for that app transaction to commit (decision 018).
    /// </summary>
    public async Task<Result> PublishAsync(string appId, string? id, string name, string dataJson, int depth, string? heldXid, CancellationToken cancellationToken)
    {
        id ??= NewId();
        var stored = await store.PublishAsync(appId, id, name, dataJson, depth, heldXid, cancellationToken);
        if (stored.ChainLimit is not { } limit)
        {
            return new Result(id, Outcome.AppNotFound, 0, null);
        }

        if (depth > limit)
        {
            LogChainTooDeep(logger, appId, name, depth, limit);
            return new Result(id, Outcome.TooDeep, 0, limit);
        }

        return new Result(id, stored.Stored ? Outcome.Published : Outcome.Duplicate, stored.Subscribers, limit);
    }

    [LoggerMessage(EventId = LogEvents.EventChainTooDeep, Level = LogLevel.Warning,
        Message = "EVENT_CHAIN_TOO_DEEP: app {App} dropped event '{Name}' at chain depth {Depth}, past the limit of {Limit} (an event handler that keeps emitting?)")]
    private static partial void LogChainTooDeep(ILogger logger, string app, string name, int depth, int limit);
}
