using Isola.Host.Errors;
using Isola.Host.Observability;

namespace Isola.Host.Api;

/// <summary>
/// Turns <see cref="IsolaException"/> and unexpected failures into the error contract, and gives
/// unmatched routes and wrong methods the same shape instead of ASP.NET's empty bodies.
/// </summary>
internal sealed partial class ErrorContractMiddleware(RequestDelegate next, ILogger<ErrorContractMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (IsolaException ex) when (!context.Response.HasStarted)
        {
            await ErrorResponse.WriteAsync(context, ErrorStatus.Of(ex.Kind), ex.Code, ex.Message, ErrorStatus.HeadersOf(ex), ex.Field, ex.Extra);
            return;
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            var mapped = RequestBodyFailure.Find(ex)!;
            await ErrorResponse.WriteAsync(context, ErrorStatus.Of(mapped.Kind), mapped.Code, mapped.Message);
            return;
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return; // The client went away; nobody is left to answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted && Data.DatabaseOutage.Is(ex))
        {
            // Not a bug in the request or the server: the database is down or restarting. Retry later.
            await ErrorResponse.WriteAsync(context, 503, ErrorCodes.DatabaseUnavailable,
                "the database is unavailable (down or restarting); retry shortly",
                new Dictionary<string, string> { ["Retry-After"] = "5" });
            return;
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            LogUnhandled(logger, context.Request.Method, context.Request.Path, ex);
            await ErrorResponse.WriteAsync(context, 500, ErrorCodes.InternalError,
                "the server failed to handle the request; see the server log for request " + context.TraceIdentifier);
            return;
        }

        if (context.Response.HasStarted || context.Response.ContentLength > 0 || context.Response.ContentType is not null)
        {
            return;
        }

        switch (context.Response.StatusCode)
        {
            case 404 when context.GetEndpoint() is null:
                await ErrorResponse.WriteAsync(context, 404, ErrorCodes.NotFound,
                    $"no route matches {context.Request.Method} {context.Request.Path}");
                break;
            case 405:
                await ErrorResponse.WriteAsync(context, 405, ErrorCodes.MethodNotAllowed,
                    $"{context.Request.Method} is not allowed on {context.Request.Path}");
                break;
        }
    }

    [LoggerMessage(EventId = LogEvents.UnhandledRequestFailure, Level = LogLevel.Error, Message = "Unhandled failure on {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, string method, PathString path, Exception exception);
}
