using Isola.Host.Api;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.TypedFunctions;

namespace Isola.Host.Gateway;

/// <summary>
/// <c>POST /v1/{app}/api/fn/{name}</c> and <c>POST /api/fn/{name}</c> (the default app, as Pylon's client calls it):
/// a typed function (R1) with a JSON object of arguments. The answer is the handler's return value as JSON (200);
/// the function's own <c>ctx.error(code, message)</c> (400, no <c>x-relay-error</c>: the error is the function's);
/// or the platform's error contract (INVALID_ARGS naming the argument, AUTH_REQUIRED, FORBIDDEN, POLICY_DENIED, …).
/// </summary>
internal static class TypedCallEndpoints
{
    /// <summary>The most argument JSON one call may send.</summary>
    public const int MaxArgsBytes = 1024 * 1024;

    public static void MapTypedCallEndpoints(this IEndpointRouteBuilder routes)
    {
        // Any other method is 405 METHOD_NOT_ALLOWED (Api/ErrorContractMiddleware).
        string[] methods = ["POST", "OPTIONS"];
        routes.MapMethods("/v1/{app}/api/fn/{name}", methods, (string app, string name, HttpContext http, TypedCaller caller, CallerIdentifier identifier) =>
            CallAsync(http, app, name, caller, identifier));
        routes.MapMethods("/api/fn/{name}", methods, (string name, HttpContext http, TypedCaller caller, CallerIdentifier identifier) =>
            CallAsync(http, AppStore.DefaultApp, name, caller, identifier));
    }

    private static async Task CallAsync(HttpContext http, string appId, string name, TypedCaller typed, CallerIdentifier identifier)
    {
        // Browsers call typed functions from their own origin with a bearer token (never cookies): any origin may.
        http.Response.Headers.AccessControlAllowOrigin = "*";
        if (HttpMethods.IsOptions(http.Request.Method))
        {
            http.Response.Headers.AccessControlAllowMethods = "POST";
            http.Response.Headers.AccessControlAllowHeaders = "authorization, apikey, content-type, x-client-info";
            http.Response.Headers.AccessControlMaxAge = "86400";
            http.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        var function = await typed.FindAsync(appId, name, fromFunction: false, http.RequestAborted);
        // Who is calling, and may they: decided before any worker is touched (A2).
        var identity = await identifier.IdentifyAsync(http.Request, appId, http.RequestAborted);
        var caller = AccessPolicy.Admit(function.Settings, identity, function.Name);
        var args = TypedCaller.ParseArgs(await ReadBodyAsync(http.Request));

        var outcome = await typed.CallAsync(function, caller, args, http.RequestAborted);
        http.TraceIdentifier = outcome.InvocationId;
        http.Response.Headers["x-isola-invocation-id"] = outcome.InvocationId;
        if (outcome.IsValue || outcome.IsFunctionError)
        {
            http.Response.StatusCode = outcome.Status;
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = outcome.Body.Length;
            await http.Response.Body.WriteAsync(outcome.Body, http.RequestAborted);
            return;
        }

        var (code, message) = outcome.PlatformError();
        await ErrorResponse.WriteAsync(http, outcome.Status, code, message, field: outcome.Invocation.ErrorField);
    }

    private static async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request)
    {
        if (request.ContentLength > MaxArgsBytes)
        {
            throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the arguments are {request.ContentLength} bytes; the limit is {MaxArgsBytes}");
        }

        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 256);
        var chunk = new byte[request.ContentLength is { } known && known < 16 * 1024 ? Math.Max(1, (int)known) : 16 * 1024];
        int read;
        while ((read = await RequestBodyFailure.Guard(() => request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted))) > 0)
        {
            if (buffer.Length + read > MaxArgsBytes)
            {
                throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the arguments are over the limit of {MaxArgsBytes} bytes");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
