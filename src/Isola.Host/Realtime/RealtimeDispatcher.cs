using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Invocations;
using Isola.Host.Observability;

namespace Isola.Host.Realtime;

/// <summary>
/// What a realtime client's message does: <c>{"type":"subscribe"|"unsubscribe","channel","id"?}</c> changes its
/// subscriptions; <c>{"event","data","id"?}</c> runs every function of the app whose websocket trigger names the
/// event, as the sender, under each function's own access settings. Each function's answer goes back to the
/// sender only; a message nothing handles gets an error reply, never silence.
/// </summary>
internal sealed partial class RealtimeDispatcher(
    RealtimeHub hub, RealtimeRoutes routes, FunctionInvoker invoker, LiveQueries.LiveQueryRegistry liveQueries, RealtimeOptions options, IHostApplicationLifetime lifetime,
    ILogger<RealtimeDispatcher> logger)
{
    private const int MaxQuotedBody = 200;

    /// <summary>Handles one message; done with <paramref name="message"/> when it returns (functions run on after).</summary>
    public async ValueTask HandleAsync(RealtimeConnection connection, ReadOnlyMemory<byte> message)
    {
        ClientMessage parsed;
        try
        {
            parsed = ClientMessage.Parse(message);
        }
        catch (ClientMessage.InvalidException ex)
        {
            connection.TryEnqueue(RealtimeFrames.Error(ex.ReplyTo, ErrorCodes.InvalidRequest, ex.Message));
            return;
        }

        if (!connection.TryTakeMessageToken())
        {
            connection.TryEnqueue(RealtimeFrames.Error(parsed.Id, ErrorCodes.RateLimited,
                $"too many messages: at most {options.MessagesPerSecond} per second (bursts of {options.MessageBurst}); this one was dropped"));
            return;
        }

        if (parsed.IsLiveQuery)
        {
            if (parsed.Type == ClientMessage.Subscribe)
            {
                await liveQueries.SubscribeAsync(connection, parsed.Id!.Value, parsed.Name, parsed.Data);
            }
            else
            {
                liveQueries.Unsubscribe(connection, parsed.Id!.Value);
            }

            return;
        }

        switch (parsed.Type)
        {
            case ClientMessage.Subscribe:
                connection.TryEnqueue(hub.Subscribe(connection, parsed.Name, options.MaxSubscriptions)
                    ? RealtimeFrames.Subscription("subscribed", parsed.Name, parsed.Id)
                    : RealtimeFrames.Error(parsed.Id, ErrorCodes.InvalidRequest, $"a connection may subscribe to at most {options.MaxSubscriptions} channels"));
                return;
            case ClientMessage.Unsubscribe:
                hub.Unsubscribe(connection, parsed.Name);
                connection.TryEnqueue(RealtimeFrames.Subscription("unsubscribed", parsed.Name, parsed.Id));
                return;
        }

        var stopping = lifetime.ApplicationStopping;
        IReadOnlyList<DeployedFunction> handlers;
        try
        {
            handlers = await routes.FindAsync(connection.AppId, parsed.Name, stopping);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            connection.TryEnqueue(RealtimeFrames.Error(parsed.Id, ErrorCodes.DatabaseUnavailable, $"cannot look up the handlers of '{parsed.Name}': {ex.Message}"));
            return;
        }

        if (handlers.Count == 0)
        {
            connection.TryEnqueue(RealtimeFrames.Error(parsed.Id, ErrorCodes.NoHandler,
                $"no function of app '{connection.AppId}' handles the event '{parsed.Name}' (a websocket trigger with config.event \"{parsed.Name}\")"));
            return;
        }

        // Reading the next message waits for a turn: a client cannot start functions faster than they end.
        await connection.WaitForTurnAsync(stopping);
        _ = RunAsync(connection, handlers, parsed, stopping);
    }

    private async Task RunAsync(RealtimeConnection connection, IReadOnlyList<DeployedFunction> handlers, ClientMessage message, CancellationToken stopping)
    {
        try
        {
            await Task.WhenAll(handlers.Select(function => RunOneAsync(connection, function, message, stopping)));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The node is stopping; the connection is being closed with 1001.
        }
        catch (Exception ex)
        {
            LogRunFailed(logger, message.Name, ex);
        }
        finally
        {
            connection.EndTurn();
        }
    }

    private async Task RunOneAsync(RealtimeConnection connection, DeployedFunction function, ClientMessage message, CancellationToken stopping)
    {
        Caller caller;
        try
        {
            caller = AccessPolicy.Admit(function.Settings, connection.Identity, function.Name);
        }
        catch (IsolaException refused)
        {
            connection.TryEnqueue(RealtimeFrames.Error(message.Id, refused.Code, refused.Message));
            return;
        }

        var payload = new JsonObject
        {
            ["type"] = TriggerKind.WebSocket.Name(),
            ["event"] = message.Name,
            // A node per invocation: one JsonNode cannot belong to two payloads.
            ["data"] = JsonNode.Parse(message.Data.GetRawText()),
            ["connectionId"] = connection.Id,
        };
        var outcome = await invoker.InvokeAsync(new TriggerInvocation(function, caller, TriggerKind.WebSocket, payload), stopping);
        if (outcome.Failed || outcome.Status >= 400)
        {
            connection.TryEnqueue(RealtimeFrames.Error(message.Id, outcome.ErrorCode ?? ErrorCodes.FunctionStatus, outcome.ErrorCode switch
            {
                // As over HTTP: what the function threw may hold secrets; the sender learns where to look.
                ErrorCodes.FunctionError => $"'{function.Name}' failed with an uncaught exception; its message and stack are in the invocation log ({outcome.InvocationId})",
                null => $"'{function.Name}' answered {outcome.Status}{Quote(outcome.Body)}",
                _ => outcome.ErrorMessage ?? $"'{function.Name}' failed ({outcome.ErrorCode})",
            }));
        }
        else if (outcome.Body.Length > 0)
        {
            // JSON goes back as it is; any other text as a string.
            var data = outcome.JsonBody() ?? JsonSerializer.SerializeToElement(Encoding.UTF8.GetString(outcome.Body));
            connection.TryEnqueue(RealtimeFrames.Reply(message.Id, message.Name, data));
        }
    }

    private static string Quote(byte[] body)
    {
        if (body.Length == 0)
        {
            return "";
        }

        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, MaxQuotedBody * 4));
        return ": " + (text.Length > MaxQuotedBody ? text[..MaxQuotedBody] + "…" : text);
    }

    [LoggerMessage(EventId = LogEvents.RealtimeRunFailed, Level = LogLevel.Error, Message = "Running the handlers of realtime event '{Event}' failed")]
    private static partial void LogRunFailed(ILogger logger, string @event, Exception exception);
}
