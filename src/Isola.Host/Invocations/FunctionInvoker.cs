using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Isola.Host.Api;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Gateway;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Isola.Host.Workers;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Invocations;

/// <summary>
/// The invocation core, free of HTTP: take a slot on a worker of the function's current version, issue the
/// invocation's capability, forward with the envelope, classify how it ended, and record it. The HTTP gateway
/// (<see cref="InvocationForwarder"/>) streams through the same steps; cron, events, the scheduler and realtime
/// call <see cref="InvokeAsync"/>, which buffers the answer and returns a typed <see cref="InvocationOutcome"/>.
/// </summary>
internal sealed partial class FunctionInvoker(
    DeployedFunctionCache registry, WorkerSupervisor supervisor, InvocationRecorder recorder, IsolaOptions options, TimeProvider time,
    InvocationCapabilities capabilities, PublicBaseUrl publicUrl, Apps.AppPolicies policies, ILogger<FunctionInvoker> logger)
{
    private static readonly Uri WorkerRoot = new("http://worker/");
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json") { CharSet = "utf-8" };

    public TimeProvider Time => time;

    /// <summary>
    /// Runs a trigger's invocation to its end. Never throws for what the function or its worker did: a throw, a
    /// timeout, a crash or no capacity is an outcome with an error code. Throws only when
    /// <paramref name="cancellationToken"/> is cancelled (the node is stopping).
    /// </summary>
    public async Task<InvocationOutcome> InvokeAsync(TriggerInvocation invocation, CancellationToken cancellationToken)
    {
        var function = invocation.Function;
        var invocationId = invocation.InvocationId ?? NewInvocationId();
        var started = time.GetUtcNow();
        var deadlineAt = invocation.Deadline ?? started.AddMilliseconds(function.Settings.TimeoutMs);
        var startedAt = Stopwatch.GetTimestamp();
        var outcome = new InvocationProgress();
        WorkerLease? lease = null;
        var body = JsonSerializer.SerializeToUtf8Bytes(invocation.Payload);
        recorder.Begin(invocationId);
        // One source: the deadline's timer, also cancelled when the node stops (no linked source).
        using var cancellation = new CancellationTokenSource(Max(deadlineAt - started, TimeSpan.Zero), time);
        using var onStop = cancellationToken.UnsafeRegister(static source => ((CancellationTokenSource)source!).Cancel(), cancellation);
        byte[] responseBody = [];
        string? contentType = null;
        try
        {
            lease = await AcquireAsync(function, cancellation.Token);
            function = lease.Function;
            // A typed function (however it is called: /api/fn, another function, the scheduler) gets ctx.db.unsafe, and
            // with its app's strict policies off, ctx.db as service_role.
            var typed = function.Settings.Typed is null ? null : new TypedGrant(!await policies.IsStrictAsync(function.AppId, cancellation.Token), invocation.CallDepth);
            var capability = IssueCapability(invocationId, lease.Worker, function, invocation.Caller, deadlineAt, longLived: false, invocation.EmitDepth, typed);
            using var request = new HttpRequestMessage(HttpMethod.Post, WorkerRoot);
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = JsonContentType;
            request.Headers.Host = publicUrl.Authority;
            AddEnvelope(request.Headers, invocationId, publicUrl.Value, "", deadlineAt, invocation.Caller, capability, invocation.Trigger);

            using var response = await lease.Worker.Invoker.SendAsync(request, cancellation.Token);
            if (await ReadRuntimeErrorAsync(response, outcome, cancellation.Token))
            {
                // A refusal the runtime answered itself (a typed function's INVALID_ARGS, POLICY_DENIED) keeps its 4xx.
                outcome.Status = (int)response.StatusCode >= 400 ? (int)response.StatusCode : 500;
            }
            else
            {
                outcome.Status = (int)response.StatusCode;
                if (outcome.Status >= 500)
                {
                    outcome.ErrorCode = ErrorCodes.FunctionStatus;
                    outcome.ErrorMessage = $"the function answered {outcome.Status}";
                }

                contentType = response.Content.Headers.ContentType?.ToString();
                responseBody = await ReadCappedAsync(response, invocation.MaxBodyBytes, cancellation.Token);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var (status, code, message) = await ClassifyAsync(function, lease?.Worker, ex, deadlinePassed: cancellation.IsCancellationRequested);
            outcome.Status = status;
            outcome.ErrorCode = code;
            outcome.ErrorMessage ??= message;
        }
        finally
        {
            Complete(invocationId, function, lease, started, startedAt, invocation.Trigger, method: null, path: null, outcome, invocation.Caller);
        }

        return new InvocationOutcome(invocationId, outcome.Status ?? 500, outcome.ErrorCode, outcome.ErrorMessage, contentType, responseBody)
        {
            ErrorField = outcome.ErrorField,
        };
    }

    /// <summary>A new invocation id: time-ordered, 32 hex characters.</summary>
    public static string NewInvocationId() => TimeOrderedId.New();

    /// <summary>
    /// A slot on the function's current version. A deploy, update or rollback that lands while the caller
    /// waits sends it on to the new version instead of failing it (decision 011); a function deleted
    /// meanwhile is 404. Only a version that keeps changing under one request fails it.
    /// </summary>
    public async Task<WorkerLease> AcquireAsync(DeployedFunction function, CancellationToken cancellationToken)
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
                var refused = function;
                function = await FindByIdAsync(refused, cancellationToken);
                if (function.VersionKey == refused.VersionKey)
                {
                    // The registry has not heard of the change yet (its notice is on its way): read the database.
                    registry.Invalidate(refused.AppId, refused.Name);
                    function = await FindByIdAsync(refused, cancellationToken);
                }
            }
        }
    }

    private async Task<DeployedFunction> FindByIdAsync(DeployedFunction function, CancellationToken cancellationToken) =>
        await registry.FindAsync(function.AppId, function.Id.ToString("D"), cancellationToken)
            ?? throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, $"function '{function.Name}' was deleted while this request waited");

    /// <summary>
    /// What this invocation may ask of the host (ctx.db …); the runtime releases it when done. A long-lived one
    /// (a WebSocket relayed to the function) lasts until its owner releases it.
    /// </summary>
    public string IssueCapability(string invocationId, WorkerProcess worker, DeployedFunction function, Caller caller, DateTimeOffset deadlineAt, bool longLived,
        int emitDepth = 0, TypedGrant? typed = null) =>
        capabilities.Issue(new CapabilityGrant(invocationId, worker.Id, function.AppId, function.Id, function.Name, caller, deadlineAt)
        {
            ExpiresAt = longLived ? DateTimeOffset.MaxValue : deadlineAt + options.HostCalls.BackgroundGrace,
            BoundServices = function.BoundServices,
            EmitDepth = emitDepth,
            Typed = typed is not null,
            DbAsService = typed?.DbAsService == true,
            CallDepth = typed?.CallDepth ?? 0,
        });

    public void ReleaseCapability(string capability, WorkerProcess worker) => capabilities.Release(capability, worker.Id);

    /// <summary>The invocation envelope of runtime/PROTOCOL.md.</summary>
    public static KeyValuePair<string, string>[] Envelope(string invocationId, string origin, string subpath, DateTimeOffset deadlineAt, Caller caller,
        string capability, TriggerKind trigger)
    {
        var headers = new KeyValuePair<string, string>[trigger == TriggerKind.Http ? 6 : 7];
        headers[0] = new(WorkerProtocol.InvocationIdHeader, invocationId);
        headers[1] = new(WorkerProtocol.OriginHeader, origin);
        headers[2] = new(WorkerProtocol.SubpathHeader, subpath);
        headers[3] = new(WorkerProtocol.DeadlineHeader, deadlineAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        headers[4] = new(WorkerProtocol.CallerHeader, caller.EnvelopeJson);
        headers[5] = new(WorkerProtocol.CapabilityHeader, capability);
        if (trigger != TriggerKind.Http)
        {
            headers[6] = new(WorkerProtocol.TriggerHeader, trigger.Name());
        }

        return headers;
    }

    /// <summary><see cref="Envelope"/> written into a request's headers unvalidated: the values are ours.</summary>
    public static void AddEnvelope(HttpRequestHeaders headers, string invocationId, string origin, string subpath, DateTimeOffset deadlineAt, Caller caller,
        string capability, TriggerKind trigger)
    {
        foreach (var (name, value) in Envelope(invocationId, origin, subpath, deadlineAt, caller, capability, trigger))
        {
            headers.TryAddWithoutValidation(name, value);
        }
    }

    /// <summary>
    /// A response the runtime marked with <c>x-isola-error</c> (a throw, or a call before the load) fills in
    /// the outcome's code, message and stack; the body is never passed on. False for a function's own response.
    /// </summary>
    public static async Task<bool> ReadRuntimeErrorAsync(HttpResponseMessage response, InvocationProgress outcome, CancellationToken cancellationToken)
    {
        if (!response.Headers.NonValidated.TryGetValues(WorkerProtocol.ErrorHeader, out var errorCodes))
        {
            return false;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        outcome.ErrorCode = errorCodes.ToString();
        try
        {
            using var document = JsonDocument.Parse(body);
            // One shape for every runtime error: {"error": {"message", "stack"?}} (runtime/PROTOCOL.md).
            var error = document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var nested) &&
                nested.ValueKind == JsonValueKind.Object ? nested : default;
            outcome.ErrorMessage = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var message) ? message.GetString() : body;
            outcome.ErrorStack = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("stack", out var stack) ? stack.GetString() : null;
            outcome.ErrorField = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("field", out var field) ? field.GetString() : null;
        }
        catch (JsonException)
        {
            outcome.ErrorMessage = body;
        }

        return true;
    }

    /// <summary>Status, code and message for a failure on the way to or from the worker.</summary>
    public async Task<(int Status, string Code, string Message)> ClassifyAsync(DeployedFunction function, WorkerProcess? worker, Exception ex, bool deadlinePassed)
    {
        switch (ex)
        {
            case IsolaException error:
                return (ErrorStatus.Of(error.Kind), error.Code, error.Message);
            case WorkerBootException boot:
                return (503, ErrorCodes.BootError, boot.Message);
            case NoCapacityException capacity:
                return (503, ErrorCodes.NoCapacity, capacity.Message);
            case PoolRetiredException retired:
                return (503, ErrorCodes.NoCapacity, retired.Message + " several times; retry");
        }

        if (deadlinePassed)
        {
            if (worker is not null)
            {
                await supervisor.HandleDeadlineAsync(worker);
            }

            return (504, ErrorCodes.FunctionTimeout, $"'{function.Name}' did not answer within its timeout of {function.Settings.TimeoutMs} ms");
        }

        if (worker is not null)
        {
            // A broken connection to the worker: find out how it ended before choosing the answer.
            var exit = await worker.Exited.WaitAsync(TimeSpan.FromSeconds(2)).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
            if (exit?.Kind == WorkerExitKind.OutOfMemory)
            {
                return (546, ErrorCodes.WorkerLimit, $"'{function.Name}' exceeded its memory limit of {function.Settings.MemoryLimitMb} MB");
            }

            if (exit is not null)
            {
                return (502, ErrorCodes.WorkerCrashed, exit.Detail);
            }
        }

        LogForwardFailed(logger, function.Name, ex.Message);
        return (502, ErrorCodes.WorkerCrashed, "the connection to the function's worker failed: " + ex.Message);
    }

    /// <summary>Frees the slot and queues the record. Never throws: the response may already be on the wire.</summary>
    public void Complete(string invocationId, DeployedFunction function, WorkerLease? lease, DateTimeOffset started, long startedAt, TriggerKind trigger,
        string? method, string? path, InvocationProgress outcome, Caller caller, int fallbackStatus = 500)
    {
        var memory = lease?.Worker.PeakMemoryBytes;
        lease?.Dispose();
        recorder.Complete(new InvocationRecord(invocationId, function.Id, function.Version, started, Stopwatch.GetElapsedTime(startedAt).TotalMilliseconds,
            method, path, outcome.Status ?? fallbackStatus, outcome.ErrorCode, outcome.ErrorMessage, outcome.ErrorStack, memory, caller.Kind, caller.UserId,
            trigger.Name()));
    }

    /// <summary>Starts collecting the console output of an invocation about to be forwarded.</summary>
    public void Begin(string invocationId) => recorder.Begin(invocationId);

    private static async Task<byte[]> ReadCappedAsync(HttpResponseMessage response, int maxBytes, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength is { } length && length <= maxBytes)
        {
            return await response.Content.ReadAsByteArrayAsync(cancellationToken); // sized, as most answers are: one read
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new InvalidDataException($"the function's response is over {maxBytes} bytes, the most a trigger keeps");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    [LoggerMessage(EventId = LogEvents.ForwardFailed, Level = LogLevel.Warning, Message = "Forwarding to {Function} failed: {Reason}")]
    private static partial void LogForwardFailed(ILogger logger, string function, string reason);
}

/// <summary>What the invocation record says about how it ended, filled in along the way.</summary>
internal sealed class InvocationProgress
{
    public int? Status { get; set; }

    public string? ErrorCode { get; set; }

    public string? ErrorMessage { get; set; }

    public string? ErrorStack { get; set; }

    public string? ErrorField { get; set; }
}
