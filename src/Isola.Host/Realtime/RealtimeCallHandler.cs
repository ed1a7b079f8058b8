using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Errors;
using Isola.Host.Workers.Calls;
using Npgsql;

namespace Isola.Host.Realtime;

/// <summary>
/// <c>ctx.realtime</c> on the host: <c>realtime.send {connectionId, data}</c> pushes to one client of the
/// function's app, <c>realtime.broadcast {channel, data}</c> to every client of the app subscribed to the
/// channel, on this node directly and on the others through <see cref="RealtimeBus"/>. At most once: a client
/// that is gone, or a node that is not listening, misses it.
/// </summary>
internal sealed class RealtimeCallHandler(RealtimeHub hub, RealtimeBus bus, RealtimeOptions options) : IHostCallHandler
{

    public string Family => "realtime";

    public async ValueTask<JsonNode?> HandleAsync(HostCall call, CancellationToken cancellationToken)
    {
        var appId = call.Grant.AppId;
        switch (call.Op)
        {
            case "realtime.send":
                var connectionId = StringArg(call.Args, "connectionId");
                if (!RealtimeNames.IsConnectionId(connectionId))
                {
                    throw new HostCallException(ErrorCodes.InvalidArgs, "ctx.realtime.send(connectionId, data) needs a connection id as ctx.trigger.connectionId gives it (32 hex characters)");
                }

                var message = Checked(RealtimeFrames.Message(DataArg(call.Args)), "send");
                if (!hub.DeliverToConnection(appId, connectionId!, message))
                {
                    await PublishAsync(() => bus.PublishToConnectionAsync(appId, connectionId!, message, cancellationToken));
                }

                return null;
            case "realtime.broadcast":
                var channel = StringArg(call.Args, "channel");
                if (!RealtimeNames.IsName(channel))
                {
                    throw new HostCallException(ErrorCodes.InvalidArgs, $"ctx.realtime.broadcast(channel, data) needs a channel name of {RealtimeNames.NameRule}");
                }

                var broadcast = Checked(RealtimeFrames.Broadcast(channel!, DataArg(call.Args)), "broadcast");
                hub.DeliverToChannel(appId, channel!, broadcast);
                await PublishAsync(() => bus.PublishToChannelAsync(appId, channel!, broadcast, cancellationToken));
                return null;
            default:
                throw new HostCallException(ErrorCodes.UnknownCall, $"the host does not serve '{call.Op}'");
        }
    }

    private byte[] Checked(byte[] frame, string op) =>
        frame.Length <= options.MaxPushBytes
            ? frame
            : throw new HostCallException(ErrorCodes.PayloadTooLarge, $"ctx.realtime.{op}: the message is {frame.Length} bytes as JSON; the limit is {options.MaxPushBytes}");

    private static async Task PublishAsync(Func<Task> publish)
    {
        try
        {
            await publish();
        }
        catch (Exception ex) when (ex is NpgsqlException or IOException or TimeoutException)
        {
            throw new HostCallException(ErrorCodes.DatabaseUnavailable, $"reached only this node's clients: the other nodes could not be told ({ex.Message})");
        }
    }

    private static string? StringArg(JsonElement args, string name) =>
        args.ValueKind == JsonValueKind.Object && args.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static JsonElement DataArg(JsonElement args) =>
        args.ValueKind == JsonValueKind.Object && args.TryGetProperty("data", out var data) ? data : RealtimeFrames.NoData;
}
