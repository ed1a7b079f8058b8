using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Isola.Host.Api;
using Isola.Host.Auth;
using Isola.Host.Functions;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Isola.Host.Workers;
using Isola.Host.Workers.Calls;
using Microsoft.AspNetCore.Http.Features;

namespace Isola.Host.Gateway;

/// <summary>
/// The HTTP invocation path: resolve the function, check trigger and method, take a worker slot,
/// forward the request with its envelope, stream the response back, and record the invocation.
/// Every failure becomes the error contract; none reaches the host's own stability.
/// </summary>
internal sealed partial class InvocationForwarder(
    FunctionRegistry registry, WorkerSupervisor supervisor, InvocationRecorder recorder, CallerIdentifier identifier, IsolaOptions options, TimeProvider time,
    InvocationCapabilities capabilities, ILogger<InvocationForwarder> logger)
{
    public async Task InvokeAsync(HttpContext http, FunctionRoute route)
    {
        var function = await registry.FindAsync(route.AppId, route.FunctionRef, http.RequestAborted);
        if (function is null || !function.Settings.HasTrigger(TriggerSpec.Http) || function.Settings.Internal)
        {
            throw ApiException.NotFound(ErrorCodes.FunctionNotFound, function is null || function.Settings.Internal
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
            throw new ApiException(405, ErrorCodes.MethodNotAllowed, $"'{function.Name}' accepts {string.Join(", ", allowed)}, not {method}")
            {
                Headers = new Dictionary<string, string> { ["Allow"] = string.Join(", ", allowed) },
            };
        }

        if (http.Request.ContentLength > options.MaxRequestBodyBytes)
        {
            throw new ApiException(413, ErrorCodes.PayloadTooLarge, $"the request body is {http.Request.ContentLength} bytes; the limit is {options.MaxRequestBodyBytes}");
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.MaxRequestBodyBytes;
        }

        var invocationId = Guid.CreateVersion7().ToString("N");
        http.TraceIdentifier = invocationId;
        http.Response.Headers["x-isola-invocation-id"] = invocationId;
        var started = time.GetUtcNow();
        var stopwatch = Stopwatch.StartNew();
        var outcome = new Outcome();
        WorkerLease? lease = null;
        recorder.Begin(invocationId);
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(function.Settings.TimeoutMs), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, deadline.Token);
        try
        {
            lease = await AcquireAsync(function, linked.Token);
            if (lease.Function.Version != function.Version)
            {
                // Sent on to a newer version: it serves only if it would have admitted the call itself.
                function = lease.Function; // recorded as the version that served
                if (!function.Settings.HasTrigger(TriggerSpec.Http) || function.Settings.Internal)
                {
                    throw ApiException.NotFound(ErrorCodes.FunctionNotFound, $"function '{function.Name}' no longer has an http trigger");
                }

                caller = AccessPolicy.Admit(function.Settings, identity, function.Name);
            }

            var deadlineAt = started.AddMilliseconds(function.Settings.TimeoutMs);
            // What this invocation may ask of the host (ctx.db …); the runtime releases it when done.
            // A WebSocket's capability lives as long as the socket: the relay's end releases it.
            var isWebSocket = http.WebSockets.IsWebSocketRequest;
            var capability = capabilities.Issue(new CapabilityGrant(invocationId, lease.Worker.Id, function.AppId, function.Id, function.Name, caller, deadlineAt)
            {
                ExpiresAt = isWebSocket ? DateTimeOffset.MaxValue : deadlineAt + options.HostCalls.BackgroundGrace,
                BoundServices = function.BoundServices,
            });
            if (isWebSocket)
            {
                try
                {
                    outcome.Status = await WebSocketRelay.RelayAsync(http, lease.Worker.Invoker, route.FunctionPath,
                        Envelope(http, route, function, caller, invocationId, deadlineAt, capability), linked.Token);
                }
                finally
                {
                    capabilities.Release(capability, lease.Worker.Id);
                }

                return;
            }

            await ForwardAsync(http, route, function, caller, lease.Worker, invocationId, deadlineAt, capability, linked.Token, outcome);
        }
        catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested || ex is not OperationCanceledException)
        {
            await FailAsync(http, function, lease?.Worker, ex, deadline.IsCancellationRequested, outcome);
        }
        catch (OperationCanceledException)
        {
            outcome.Status = 499; // The client went away first.
            outcome.ErrorCode = "CLIENT_CLOSED";
        }
        finally
        {
            // Nothing here may throw: the response may already be on the wire.
            var memory = lease?.Worker.PeakMemoryBytes;
            lease?.Dispose();
            recorder.Complete(new InvocationRecord(invocationId, function.Id, function.Version, started, stopwatch.Elapsed.TotalMilliseconds,
                method, http.Request.Path + http.Request.QueryString, outcome.Status ?? http.Response.StatusCode, outcome.ErrorCode,
                outcome.ErrorMessage, outcome.ErrorStack, memory, caller.Kind, caller.UserId));
        }
    }

    private static readonly Uri WorkerBase = new("http://worker/");

    /// <summary>
    /// A slot on the function's current version. A deploy, update or rollback that lands while the caller
    /// waits sends it on to the new version instead of failing it (decision 011); a function deleted
    /// meanwhile is 404. Only a version that keeps changing under one request fails it.
    /// </summary>
    private async Task<WorkerLease> AcquireAsync(DeployedFunction function, CancellationToken cancellationToken)
    {
        const int switches = 3;
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                // After a few switches the caller takes whatever version it resolved last, replaced or not.
                return await supervisor.AcquireAsync(function, cancellationToken, evenIfReplaced: attempt >= switches);
            }
            catch (PoolRetiredException) when (attempt <= switches)
            {
                function = await registry.FindAsync(function.AppId, function.Id.ToString("D"), cancellationToken)
                    ?? throw ApiException.NotFound(ErrorCodes.FunctionNotFound, $"function '{function.Name}' was deleted while this request waited");
            }
        }
    }

    private static async Task ForwardAsync(HttpContext http, FunctionRoute route, DeployedFunction function, Caller caller, WorkerProcess worker, string invocationId,
        DateTimeOffset deadlineAt, string capability, CancellationToken cancellationToken, Outcome outcome)
    {
        using var request = new HttpRequestMessage(new HttpMethod(http.Request.Method), new Uri(WorkerBase, route.FunctionPath));
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
        foreach (var (name, value) in Envelope(http, route, function, caller, invocationId, deadlineAt, capability))
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await worker.Invoker.SendAsync(request, cancellationToken);
        if (response.Headers.TryGetValues("x-isola-error", out var errorCodes))
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            ReadRuntimeError(body, outcome);
            var code = errorCodes.First();
            outcome.ErrorCode = code;
            outcome.Status = code == "BOOT_ERROR" ? 503 : 500;
            await ErrorResponse.WriteAsync(http, outcome.Status.Value, code, code == "BOOT_ERROR"
                ? "the function is not loaded: " + outcome.ErrorMessage
                : $"the function failed with an uncaught exception; its message and stack are in the invocation log ({invocationId})");
            return;
        }

        http.Response.StatusCode = (int)response.StatusCode;
        CopyHeaders(response.Headers, http.Response.Headers);
        CopyHeaders(response.Content.Headers, http.Response.Headers);
        if (response.StatusCode >= HttpStatusCode.InternalServerError)
        {
            outcome.ErrorCode = "FUNCTION_STATUS";
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
    /// The invocation envelope (runtime/PROTOCOL.md) plus x-forwarded-for; for a WebSocket upgrade also
    /// the caller's headers, since the relay's handshake carries them.
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

        yield return new("x-forwarded-for", http.Connection.RemoteIpAddress?.ToString() ?? "");
        yield return new("x-isola-invocation-id", invocationId);
        yield return new("x-isola-origin", $"{http.Request.Scheme}://{http.Request.Host}");
        yield return new("x-isola-subpath", route.Subpath);
        yield return new("x-isola-deadline", deadlineAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return new("x-isola-caller", caller.EnvelopeJson);
        yield return new("x-isola-capability", capability);
    }

    private async Task FailAsync(HttpContext http, DeployedFunction function, WorkerProcess? worker, Exception ex, bool deadlinePassed, Outcome outcome)
    {
        var (status, code, message) = await ClassifyAsync(function, worker, ex, deadlinePassed);
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

    private async Task<(int Status, string Code, string Message)> ClassifyAsync(DeployedFunction function, WorkerProcess? worker, Exception ex, bool deadlinePassed)
    {
        switch (ex)
        {
            case ApiException api:
                return (api.Status, api.Code, api.Message);
            case WorkerBootException boot:
                return (503, "BOOT_ERROR", boot.Message);
            case NoCapacityException capacity:
                return (503, "NO_CAPACITY", capacity.Message);
            case PoolRetiredException retired:
                return (503, "NO_CAPACITY", retired.Message + " several times; retry");
        }

        // Kestrel refuses a body past the limit, or with broken chunked framing (a bare LF, a size that is not
        // hex), while HttpClient streams it to the worker; it arrives wrapped. The caller's fault, not the worker's:
        // answer at once instead of waiting to see how a worker that is fine "ended".
        if (RequestBodyFailure.Find(ex) is { } bodyFailure)
        {
            return (bodyFailure.Status, bodyFailure.Code, bodyFailure.Status == 413
                ? $"the request body is over the limit of {options.MaxRequestBodyBytes} bytes"
                : bodyFailure.Message);
        }

        if (deadlinePassed)
        {
            if (worker is not null)
            {
                await supervisor.HandleDeadlineAsync(worker);
            }

            return (504, "FUNCTION_TIMEOUT", $"'{function.Name}' did not answer within its timeout of {function.Settings.TimeoutMs} ms");
        }

        if (worker is not null)
        {
            // A broken connection to the worker: find out how it ended before choosing the answer.
            var exit = await worker.Exited.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
            if (exit?.Kind == WorkerExitKind.OutOfMemory)
            {
                return (546, "WORKER_LIMIT", $"'{function.Name}' exceeded its memory limit of {function.Settings.MemoryLimitMb} MB");
            }

            if (exit is not null)
            {
                return (502, "WORKER_CRASHED", exit.Detail);
            }
        }

        LogForwardFailed(logger, function.Name, ex.Message);
        return (502, "WORKER_CRASHED", "the connection to the function's worker failed: " + ex.Message);
    }

    private static void ReadRuntimeError(string body, Outcome outcome)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement.TryGetProperty("error", out var nested) ? nested : document.RootElement;
            outcome.ErrorMessage = root.TryGetProperty("message", out var message) ? message.GetString() : body;
            outcome.ErrorStack = root.TryGetProperty("stack", out var stack) ? stack.GetString() : null;
        }
        catch (JsonException)
        {
            outcome.ErrorMessage = body;
        }
    }

    private static void CopyHeaders(System.Net.Http.Headers.HttpHeaders from, IHeaderDictionary to)
    {
        foreach (var (name, values) in from)
        {
            if (ForwardedHeaders.ShouldReturn(name))
            {
                to[name] = values.ToArray();
            }
        }
    }

    /// <summary>What the invocation record says about how it ended, filled in along the way.</summary>
    private sealed class Outcome
    {
        public int? Status { get; set; }

        public string? ErrorCode { get; set; }

        public string? ErrorMessage { get; set; }

        public string? ErrorStack { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding to {Function} failed: {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string function, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Aborted a streaming response of {Function}: {Reason}")]
    private static partial void LogAbortedStream(ILogger logger, string function, string reason);
}
