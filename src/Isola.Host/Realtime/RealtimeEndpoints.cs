using Isola.Host.Auth;
using Isola.Host.Errors;

namespace Isola.Host.Realtime;

/// <summary>
/// <c>GET /v1/{app}/realtime</c>: a WebSocket held by the host. The handshake is authenticated like an HTTP
/// invocation (<c>Authorization</c>, <c>apikey</c>, or <c>?apikey=</c> / <c>?access_token=</c> for browsers) and
/// needs some credential of the app: its anon key, a user token, its service key or an API key with
/// <c>functions.execute</c>. Each message then runs under the handling function's own access settings.
/// </summary>
internal static class RealtimeEndpoints
{
    public static void MapRealtimeEndpoints(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/v1/{app}/realtime", AcceptAsync);

    private static async Task AcceptAsync(string app, HttpContext http, AppAuthStore apps, CallerIdentifier identifier, RealtimeHub hub,
        RealtimeDispatcher dispatcher, LiveQueries.LiveQueryRegistry liveQueries, RealtimeOptions options, TimeProvider time, ILogger<RealtimeConnection> logger)
    {
        if (!http.WebSockets.IsWebSocketRequest)
        {
            throw IsolaException.InvalidRequest($"/v1/{app}/realtime is a WebSocket: connect with GET and 'Upgrade: websocket'");
        }

        await apps.GetAsync(app, http.RequestAborted); // 404 APP_NOT_FOUND before anything else
        var identity = await identifier.IdentifyAsync(http.Request, app, http.RequestAborted);
        if (identity.Refused is { } refused)
        {
            throw refused;
        }

        if (identity.Invalid is { } reason)
        {
            throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired, $"invalid credentials: {reason}");
        }

        if (identity.Caller is not { HasToken: true })
        {
            throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired,
                $"connecting to app '{app}' needs a token: the app's anon key or a user token, as 'Authorization: Bearer <token>', an 'apikey' header, or ?apikey= / ?access_token= in the URL");
        }

        using var socket = await http.WebSockets.AcceptWebSocketAsync();
        var connection = new RealtimeConnection(app, identity, socket, options, time, logger);
        hub.Add(connection);
        try
        {
            await connection.RunAsync(dispatcher.HandleAsync);
        }
        finally
        {
            hub.Remove(connection);
            liveQueries.Remove(connection);
        }
    }
}
