using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Isola.Host.Api;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Hosting;
using Isola.Host.Invocations;
using Isola.Host.Observability;
using Isola.Host.Workers;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Isola.Host.Gateway;

/// <summary>
/// The HTTP invocation path: resolve the function, identify the caller, check trigger and method, then
/// through the invocation core (<see cref="FunctionInvoker"/>) take a worker slot, forward the request with
/// its envelope, stream the response back, and record the invocation. Every failure becomes the error
/// contract; none reaches the host's own stability.
/// </summary>
internal sealed partial class InvocationForwarder(
    DeployedFunctionCache registry, FunctionInvoker invoker, CallerIdentifier identifier, IsolaOptions options, ILogger<InvocationForwarder> logger)
{
    public async Task InvokeAsync(HttpContext http, FunctionRoute route)
    {
        var function = await registry.FindAsync(route.AppId, route.FunctionRef, http.RequestAborted);
        RefuseTyped(function, route.AppId);
        if (function is null || !function.Settings.HasTrigger(TriggerSpec.Http) || function.Settings.Internal)
        {
            throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, function is null || function.Settings.Internal
                ? $"function '{route.FunctionRef}' does not exist in app '{route.AppId}'"
                : $"function '{function.Name}' has no http trigger, so it cannot be called over HTTP");
        }

        // Who is calling, and may they: decided here, before any worker is chosen (A2).
        var identity = await identifier.IdentifyAsync(http.Request, function.AppId, http.RequestAborted);
        var caller = AccessPolicy.Admit(function.Settings, identity, function.Name);
        if (identity.PlatformKey)
        {
            // A platform API key is the operator's secret, not the end user's token: the function never sees it.
            http.Request.Headers.Authorization = default;
            http.Request.Headers.Remove("apikey");
        }

        var method = http.Request.Method;
        // OPTIONS always reaches the function: CORS preflight must work whatever methods it serves (H8).
        if (function.Settings.Methods is { } allowed && !allowed.Contains(method) && !HttpMethods.IsOptions(method))
        {
            throw new IsolaException(ErrorKind.NotAllowed, ErrorCodes.MethodNotAllowed, $"'{function.Name}' accepts {string.Join(", ", allowed)}, not {method}")
            {
                Allowed = allowed,
            };
        }

        if (http.Request.ContentLength > options.MaxRequestBodyBytes)
        {
            throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the request body is {http.Request.ContentLength} bytes; the limit is {options.MaxRequestBodyBytes}");
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.MaxRequestBodyBytes;
        }

        var invocationId = FunctionInvoker.NewInvocationId();
        http.TraceIdentifier = invocationId;
        http.Response.Headers["x-isola-invocation-id"] = invocationId;
        var started = invoker.Time.GetUtcNow();
        var startedAt = Stopwatch.GetTimestamp();
        var outcome = new InvocationProgress();
        WorkerLease? lease = null;
        invoker.Begin(invocationId);
        // One source per request: the deadline's timer, also cancelled when the client goes away (no linked source).
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(function.Settings.TimeoutMs), invoker.Time);
        using var onAbort = http.RequestAborted.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), cancellation);
        try
        {
            lease = await invoker.AcquireAsync(function, cancellation.Token);
            if (lease.Function.Version != function.Version)
            {
                // Sent on to a newer version: it serves only if it would have admitted the call itself.
                function = lease.Function; // recorded as the version that served
                RefuseTyped(function, route.AppId);
                if (!function.Settings.HasTrigger(TriggerSpec.Http) || function.Settings.Internal)
                {
                    throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, $"function '{function.Name}' no longer has an http trigger");
                }

                caller = AccessPolicy.Admit(function.Settings, identity, function.Name);
            }

            var deadlineAt = started.AddMilliseconds(function.Settings.TimeoutMs);
            // A WebSocket's capability lives as long as the socket: the relay's end releases it.
            var isWebSocket = http.WebSockets.IsWebSocketRequest;
            var capability = invoker.IssueCapability(invocationId, lease.Worker, function, caller, deadlineAt, longLived: isWebSocket);
            if (isWebSocket)
            {
                try
                {
                    outcome.Status = await WebSocketRelay.RelayAsync(http, lease.Worker.Invoker, route.FunctionPath,
                        Envelope(http, route, function, caller, invocationId, deadlineAt, capability), cancellation.Token);
                }
                finally
                {
                    invoker.ReleaseCapability(capability, lease.Worker);
                }

                return;
            }

            await ForwardAsync(http, route, function, caller, lease.Worker, invocationId, deadlineAt, capability, cancellation.Token, outcome);
        }
        catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested || ex is not OperationCanceledException)
        {
            await FailAsync(http, function, lease?.Worker, ex, deadlinePassed: cancellation.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested, outcome);
        }
        catch (OperationCanceledException)
        {
            outcome.Status = 499; // The client went away first.
            outcome.ErrorCode = ErrorCodes.ClientClosed;
        }
        finally
        {
            invoker.Complete(invocationId, function, lease, started, startedAt, TriggerKind.Http, method, http.Request.Path + http.Request.QueryString,
                outcome, caller, fallbackStatus: http.Response.StatusCode);
        }
    }

    private static readonly Uri WorkerBase = new("http://worker/");

    // Paths (with their queries) as functions see them, parsed once each; callers choose them, so the cache is bounded
    // (at most 512 paths of at most 256 characters) and any other path is parsed per request as before.
    private static readonly ConcurrentDictionary<string, Uri> WorkerUris = new(StringComparer.Ordinal);
    private const int MaxWorkerUris = 512;
    private const int MaxCachedPathLength = 256;
    private static int _workerUriCount; // ConcurrentDictionary.Count takes every lock

    private static Uri WorkerUri(string path)
    {
        if (WorkerUris.TryGetValue(path, out var uri))
        {
            return uri;
        }

        uri = new Uri(WorkerBase, path);
        if (path.Length <= MaxCachedPathLength && Volatile.Read(ref _workerUriCount) < MaxWorkerUris && WorkerUris.TryAdd(path, uri))
        {
            Interlocked.Increment(ref _workerUriCount);
        }

        return uri;
    }

    /// <summary>A typed function answers only by name at /api/fn; here it is a 404 that says where to call it.</summary>
    private static void RefuseTyped(DeployedFunction? function, string appId)
    {
        if (function is { Settings: { Typed: { } typed, Internal: false } })
        {
            throw IsolaException.NotFound(ErrorCodes.FunctionNotFound,
                $"'{function.Name}' is a typed function ({typed.Kind}): call it with POST /v1/{appId}/api/fn/{function.Name} and a JSON object of its arguments");
        }
    }

    private static async Task ForwardAsync(HttpContext http, FunctionRoute route, DeployedFunction function, Caller caller, WorkerProcess worker, string invocationId,
        DateTimeOffset deadlineAt, string capability, CancellationToken cancellationToken, InvocationProgress outcome)
    {
        // The known methods and recent paths are shared instances: a Uri parse and a method object per request showed in profiles.
        using var request = new HttpRequestMessage(HttpMethod.Parse(http.Request.Method), WorkerUri(route.FunctionPath));
        var hasBody = http.Request.ContentLength > 0 || http.Request.Headers.TransferEncoding.Count > 0;
        if (hasBody)
        {
            request.Content = new StreamContent(http.Request.Body, 64 * 1024);
        }

        foreach (var (name, values) in http.Request.Headers)
        {
            if (!ForwardedHeaders.ShouldForward(name, function.Settings.PassAllHeaders))
            {
                continue;
            }

            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values) && request.Content is not null)
            {
                request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        request.Headers.Host = http.Request.Host.Value;
        request.Headers.TryAddWithoutValidation(ForwardedFor, ClientAddress(http));
        FunctionInvoker.AddEnvelope(request.Headers, invocationId, Origin(http), route.Subpath, deadlineAt, caller, capability, TriggerKind.Http);

        using var response = await worker.Invoker.SendAsync(request, cancellationToken);
        if (await FunctionInvoker.ReadRuntimeErrorAsync(response, outcome, cancellationToken))
        {
            var code = outcome.ErrorCode!;
            outcome.Status = code == ErrorCodes.BootError ? 503 : 500;
            await ErrorResponse.WriteAsync(http, outcome.Status.Value, code, code == ErrorCodes.BootError
                ? "the function is not loaded: " + outcome.ErrorMessage
                : $"the function failed with an uncaught exception; its message and stack are in the invocation log ({invocationId})");
            return;
        }

        http.Response.StatusCode = (int)response.StatusCode;
        CopyHeaders(response.Headers.NonValidated, http.Response.Headers);
        CopyHeaders(response.Content.Headers.NonValidated, http.Response.Headers);
        if (response.StatusCode >= HttpStatusCode.InternalServerError)
        {
            outcome.ErrorCode = ErrorCodes.FunctionStatus;
        }

        // Streams as it arrives (SSE, chunked): the deadline covers the response head only. A body of
        // unknown length gets its head sent at once, so a stream's first event is not held back;
        // a sized body goes out with the head in one write.
        await using var responseBody = await response.Content.ReadAsStreamAsync(CancellationToken.None);
        if (response.Content.Headers.ContentLength is null)
        {
            await http.Response.StartAsync(http.RequestAborted);
        }

        await responseBody.CopyToAsync(http.Response.Body, http.RequestAborted);
    }

    /// <summary>
    /// The invocation envelope plus x-forwarded-for; for a WebSocket upgrade also the caller's headers,
    /// since the relay's handshake carries them.
    /// </summary>
    private static IEnumerable<KeyValuePair<string, string>> Envelope(HttpContext http, FunctionRoute route, DeployedFunction function, Caller caller,
        string invocationId, DateTimeOffset deadlineAt, string capability)
    {
        if (http.WebSockets.IsWebSocketRequest)
        {
            foreach (var (name, values) in http.Request.Headers)
            {
                if (ForwardedHeaders.ShouldForward(name, function.Settings.PassAllHeaders) && !name.StartsWith("sec-websocket-", StringComparison.OrdinalIgnoreCase))
                {
                    yield return new(name, values.ToString());
                }
            }
        }

        yield return new(ForwardedFor, ClientAddress(http));
        foreach (var pair in FunctionInvoker.Envelope(invocationId, Origin(http), route.Subpath, deadlineAt, caller, capability, TriggerKind.Http))
        {
            yield return pair;
        }
    }

    private const string ForwardedFor = "x-forwarded-for";

    private static string ClientAddress(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "";

    private static string Origin(HttpContext http) => string.Concat(http.Request.Scheme, "://", http.Request.Host.Value);

    private async Task FailAsync(HttpContext http, DeployedFunction function, WorkerProcess? worker, Exception ex, bool deadlinePassed, InvocationProgress outcome)
    {
        // Kestrel refuses a body past the limit, or with broken chunked framing (a bare LF, a size that is not
        // hex), while HttpClient streams it to the worker; it arrives wrapped. The caller's fault, not the worker's:
        // answer at once instead of waiting to see how a worker that is fine "ended".
        var (status, code, message) = RequestBodyFailure.Find(ex) is { } bodyFailure
            ? (ErrorStatus.Of(bodyFailure.Kind), bodyFailure.Code, bodyFailure.Kind == ErrorKind.TooLarge
                ? $"the request body is over the limit of {options.MaxRequestBodyBytes} bytes"
                : bodyFailure.Message)
            : await invoker.ClassifyAsync(function, worker, ex, deadlinePassed);
        outcome.Status = status;
        outcome.ErrorCode = code;
        outcome.ErrorMessage ??= message;
        if (http.Response.HasStarted)
        {
            // Headers are gone: the only honest signal left is a broken connection.
            LogAbortedStream(logger, function.Name, message);
            http.Abort();
            return;
        }

        http.Response.Headers.Clear();
        http.Response.Headers["x-isola-invocation-id"] = http.TraceIdentifier;
        await ErrorResponse.WriteAsync(http, status, code, message);
    }

    /// <summary>The worker's response headers as it sent them: no parsing into typed values and back (the hop's way too).</summary>
    private static void CopyHeaders(HttpHeadersNonValidated from, IHeaderDictionary to)
    {
        foreach (var (name, values) in from)
        {
            if (ForwardedHeaders.ShouldReturn(name))
            {
                to[name] = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues(values.ToArray());
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.StreamAborted, Level = LogLevel.Warning, Message = "Aborted a streaming response of {Function}: {Reason}")]
    private static partial void LogAbortedStream(ILogger logger, string function, string reason);
}
