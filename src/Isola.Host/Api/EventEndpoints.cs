using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Deliveries;
using Isola.Host.Errors;
using Isola.Host.Events;
using static Isola.Host.Validation.JsonFields;

namespace Isola.Host.Api;

/// <summary>
/// Events from the control plane (docs/triggers.md, "Events"): publish, list and redeliver dead letters, and the
/// app's chain limit.
/// </summary>
internal static class EventEndpoints
{
    private const long MaxPublishBytes = EventPublisher.MaxDataBytes + 16 * 1024;

    public static void MapEventEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.MapPost("/v1/{app}/events", PublishAsync).RequirePermission(Permissions.EventsPublish);
        routes.MapGet("/v1/{app}/events/dead", ListDeadAsync).RequirePermission(Permissions.Read);
        routes.MapPost("/v1/{app}/events/dead/{id}/retry", RetryAsync).RequirePermission(Permissions.EventsPublish);
        routes.MapGet("/v1/apps/{app}/events", GetSettingsAsync).RequirePermission(Permissions.Read);
        routes.MapPut("/v1/apps/{app}/events", PutSettingsAsync).RequirePermission(Permissions.AppsManage);
    }

    private static async Task<IResult> PublishAsync(string app, HttpContext http, EventPublisher publisher)
    {
        var body = await JsonBody.ReadAsync(http.Request, MaxPublishBytes);
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidRequest("the request body must be a JSON object like {\"name\": \"order.created\", \"data\": {\"orderId\": 42}}");
        }

        string? name = null, id = null, data = null;
        foreach (var property in body.EnumerateObject())
        {
            switch (property.Name)
            {
                case "name":
                    name = RequireString(property.Value, "name");
                    break;
                case "data":
                    data = property.Value.GetRawText();
                    break;
                case "id":
                    id = RequireString(property.Value, "id");
                    break;
                default:
                    throw IsolaException.InvalidField(property.Name, "is not a known field; an event takes 'name', 'data' and 'id'");
            }
        }

        if (name is null)
        {
            throw IsolaException.InvalidField("name", "is required: the event's name, e.g. \"order.created\"");
        }

        if (EventPublisher.NameProblem(name) is { } nameProblem)
        {
            throw IsolaException.InvalidField("name", nameProblem);
        }

        if (id is not null && EventPublisher.IdProblem(id) is { } idProblem)
        {
            throw IsolaException.InvalidField("id", idProblem);
        }

        data ??= "null";
        if (EventPublisher.DataSizeProblem(data) is { } tooLarge)
        {
            throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, "data " + tooLarge) { Field = "data" };
        }

        if (EventPublisher.DataContentProblem(data) is { } unstorable)
        {
            throw IsolaException.InvalidField("data", unstorable);
        }

        var result = await publisher.PublishAsync(app, id, name, data, depth: 0, heldXid: null, http.RequestAborted);
        return result.Outcome switch
        {
            EventPublisher.Outcome.AppNotFound => throw AppNotFound(app),
            EventPublisher.Outcome.TooDeep => throw new IsolaException(ErrorKind.Invalid, ErrorCodes.EventChainTooDeep,
                $"app '{app}' has a chain limit of {result.ChainLimit}, so even a published event is too deep; raise it with PUT /v1/apps/{app}/events"),
            _ => Results.Json(new JsonObject { ["id"] = result.Id }, statusCode: 202),
        };
    }

    private static async Task<IResult> ListDeadAsync(string app, HttpContext http, AppStore apps, DeliveryStore deliveries)
    {
        await apps.RequireAsync(app, http.RequestAborted);
        var limit = 100;
        if (http.Request.Query.TryGetValue("limit", out var limitText) &&
            (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            throw IsolaException.InvalidField("limit", $"must be a whole number from 1 to 1000 (got '{limitText}')");
        }

        var dead = await deliveries.ListDeadAsync(app, limit, http.RequestAborted);
        return Results.Json(new JsonObject { ["dead"] = new JsonArray([.. dead.Select(Render)]) });
    }

    private static async Task<IResult> RetryAsync(string app, string id, HttpContext http, AppStore apps, DeliveryStore deliveries)
    {
        await apps.RequireAsync(app, http.RequestAborted);
        if (!long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var deliveryId) ||
            !await deliveries.RetryDeadAsync(app, deliveryId, http.RequestAborted))
        {
            throw IsolaException.NotFound(ErrorCodes.NotFound, $"app '{app}' has no dead letter '{id}'; GET /v1/{app}/events/dead lists them");
        }

        return Results.Json(new JsonObject { ["id"] = id, ["retried"] = true }, statusCode: 202);
    }

    private static async Task<IResult> GetSettingsAsync(string app, HttpContext http, ChainLimits limits) =>
        Results.Json(new JsonObject { ["chainLimit"] = await limits.GetAsync(app, http.RequestAborted) ?? throw AppNotFound(app) });

    private static async Task<IResult> PutSettingsAsync(string app, HttpContext http, ChainLimits limits)
    {
        var body = await JsonBody.ReadAsync(http.Request, 4 * 1024);
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw IsolaException.InvalidRequest("the request body must be a JSON object like {\"chainLimit\": 8}");
        }

        int? limit = null;
        var given = false;
        foreach (var property in body.EnumerateObject())
        {
            if (property.Name != "chainLimit")
            {
                throw IsolaException.InvalidField(property.Name, "is not a known field; app event settings take 'chainLimit'");
            }

            given = true;
            limit = property.Value.ValueKind switch
            {
                JsonValueKind.Null => null,
                JsonValueKind.Number when property.Value.TryGetInt32(out var n) && n is >= 0 and <= ChainLimits.Max => n,
                _ => throw IsolaException.InvalidField("chainLimit", $"must be a whole number from 0 to {ChainLimits.Max}, or null for the default"),
            };
        }

        if (!given)
        {
            throw IsolaException.InvalidField("chainLimit", "is required (null restores the default)");
        }

        if (!await limits.SetAsync(app, limit, http.RequestAborted))
        {
            throw AppNotFound(app);
        }

        return await GetSettingsAsync(app, http, limits);
    }

    private static IsolaException AppNotFound(string app) =>
        IsolaException.NotFound(ErrorCodes.AppNotFound, $"app '{app}' does not exist; create it with POST /v1/apps");

    private static JsonObject Render(DeliveryStore.DeadLetter dead)
    {
        var json = new JsonObject
        {
            ["id"] = dead.Id.ToString(CultureInfo.InvariantCulture),
            ["kind"] = dead.Kind == DeliveryKind.Event ? "event" : "scheduled",
            ["function"] = dead.Function,
            ["attempts"] = dead.Attempts,
            ["lastError"] = dead.LastError,
            ["deadAt"] = dead.DeadAt,
        };
        if (dead.Event is { } evt)
        {
            json["event"] = new JsonObject
            {
                ["id"] = evt.Id,
                ["name"] = evt.Name,
                ["data"] = JsonNode.Parse(evt.DataJson),
                ["depth"] = evt.Depth,
                ["publishedAt"] = evt.PublishedAt,
            };
        }
        else
        {
            json["scheduled"] = new JsonObject
            {
                ["args"] = dead.ArgsJson is null ? null : JsonNode.Parse(dead.ArgsJson),
                ["scheduledAt"] = dead.ScheduledAt,
            };
        }

        return json;
    }
}
