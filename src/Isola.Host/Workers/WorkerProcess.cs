using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Isola.Host.Data;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Workers;

/// <summary>
/// One sandboxed Deno process (runtime/PROTOCOL.md): its folder, its Unix socket, an HTTP client
/// bound to that socket, and what became of it. Never throws into the host when the process dies.
/// </summary>
internal sealed partial class WorkerProcess : IAsyncDisposable
{
    private const int StderrTailBytes = 8 * 1024;
    private readonly Process _process;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<WorkerExit> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _stderrTail = new();
    private readonly IWorkerOutput _output;
    private readonly ILogger _logger;
    private WorkerExitKind? _plannedExit;
    private HostCallChannel? _channel;
    private int _inFlight;

    private WorkerProcess(string id, string directory, int memoryLimitMb, Process process, IWorkerOutput output, ILogger logger)
    {
        Id = id;
        Directory = directory;
        MemoryLimitMb = memoryLimitMb;
        _process = process;
        _output = output;
        _logger = logger;
        SocketPath = Path.Combine(directory, "worker.sock");
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            // The invocation envelope carries tracing; no headers the function did not ask for.
            ActivityHeadersPropagator = null,
        };
        Client = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri("http://worker/"), Timeout = Timeout.InfiniteTimeSpan };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public string Id { get; }

    public string Directory { get; }

    public string SocketPath { get; }

    public int MemoryLimitMb { get; }

    /// <summary>The OS process id, kept from the start: the Process object may be disposed while leases still point here.</summary>
    public int Pid { get; private set; }

    /// <summary>Talks HTTP/1.1 to the worker over its socket.</summary>
    public HttpClient Client { get; }

    /// <summary>
    /// The same connections without HttpClient's per-request timeout and cancellation plumbing, for
    /// the invocation path (requests carry absolute <c>http://worker/...</c> URIs; answers come back
    /// as soon as their head is read).
    /// </summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary>Completes when the process has ended, saying why.</summary>
    public Task<WorkerExit> Exited => _exited.Task;

    public bool IsAlive => !_exited.Task.IsCompleted;

    public int InFlight => Volatile.Read(ref _inFlight);

    public DateTimeOffset LastReleased { get; private set; }

    public static async Task<WorkerProcess> StartAsync(WorkerLaunch launch, int memoryLimitMb, int hostPort, (uint Uid, uint Gid)? runAs,
        IWorkerOutput output, ILogger logger, TimeSpan timeout, CancellationToken cancellationToken,
        (HostCallDispatcher Dispatcher, HostCallOptions Options)? calls = null)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var directory = Path.Combine(launch.WorkersRoot, id);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "tmp"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "functions"));
        if (runAs is { } user)
        {
            UnixUser.ChownRecursive(directory, user.Uid, user.Gid);
        }

        // Listening before the process starts: the runtime connects right after ISOLA_READY.
        var channel = calls is { } c ? HostCallChannel.Listen(directory, id, runAs, c.Dispatcher, c.Options, logger) : null;

        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        var arguments = launch.Arguments(directory, memoryLimitMb, hostPort);
        if (runAs is { } account)
        {
            info.FileName = "setpriv";
            foreach (var arg in new[] { $"--reuid={account.Uid}", $"--regid={account.Gid}", "--clear-groups", "--", launch.DenoPath })
            {
                info.ArgumentList.Add(arg);
            }
        }
        else
        {
            info.FileName = launch.DenoPath;
        }

        foreach (var arg in arguments)
        {
            info.ArgumentList.Add(arg);
        }

        // Start from an empty environment: the worker must not see the host's variables.
        info.Environment.Clear();
        foreach (var (key, value) in launch.Environment(directory))
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var worker = new WorkerProcess(id, directory, memoryLimitMb, process, output, logger) { _channel = channel };
        process.Exited += (_, _) => worker.OnExited();
        process.Start();
        worker.Pid = process.Id;
        process.StandardInput.Close();
        _ = worker.ReadStdoutAsync();
        _ = worker.ReadStderrAsync();
        try
        {
            await worker._ready.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            var detail = ex is InvalidOperationException ? ex.Message : $"no ISOLA_READY within {timeout.TotalSeconds:0.#} s";
            worker.Kill(WorkerExitKind.Stopped);
            await worker.DisposeAsync();
            throw new WorkerBootException($"the worker process did not start: {detail}");
        }

        return worker;
    }

    /// <summary>Loads a bundle into a started worker; throws <see cref="WorkerBootException"/> with the function's error.</summary>
    public async Task LoadAsync(WorkerLoadRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        HttpResponseMessage response;
        try
        {
            response = await Client.PostAsJsonAsync("/__isola/load", request, WorkerJson.Options, deadline.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            var reason = IsAlive ? (deadline.IsCancellationRequested ? $"loading took longer than {timeout.TotalSeconds:0.#} s" : ex.Message)
                : (await Exited).Detail;
            throw new WorkerBootException($"the function failed to load: {reason}");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new WorkerBootException("the function failed to load: " + WorkerJson.ErrorMessage(body));
            }
        }
    }

    /// <summary>Asks the worker whether its event loop answers; a busy-looping worker does not.</summary>
    public async Task<bool> IsResponsiveAsync(TimeSpan timeout)
    {
        if (!IsAlive)
        {
            return false;
        }

        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            using var response = await Client.GetAsync("/__isola/health", deadline.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    public bool TryReserve(int concurrency)
    {
        while (true)
        {
            var current = Volatile.Read(ref _inFlight);
            if (current >= concurrency || !IsAlive)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Release(DateTimeOffset now)
    {
        LastReleased = now;
        Interlocked.Decrement(ref _inFlight);
    }

    /// <summary>
    /// Peak resident memory (VmHWM) as last sampled by the supervisor, about once a second: reading
    /// /proc on every invocation cost more CPU than the rest of the record.
    /// </summary>
    public long? PeakMemoryBytes => _peakMemory > 0 ? _peakMemory : null;

    private long _peakMemory;

    /// <summary>Reads VmHWM from /proc now; keeps the last figure when the process is gone.</summary>
    public void SamplePeakMemory()
    {
        if (ReadPeakMemory() is { } bytes)
        {
            _peakMemory = bytes;
        }
    }

    private long? ReadPeakMemory()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{Pid}/status"))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    var kb = line["VmHWM:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // The process is gone or its status unreadable: no figure rather than a failed invocation.
        }

        return null;
    }

    /// <summary>Runs beforeunload and pending background work (bounded by <paramref name="grace"/>), then kills the process.</summary>
    public async Task StopAsync(string reason, TimeSpan grace)
    {
        if (IsAlive)
        {
            _plannedExit ??= WorkerExitKind.Stopped;
            try
            {
                using var deadline = new CancellationTokenSource(grace + TimeSpan.FromSeconds(1));
                using var _ = await Client.PostAsJsonAsync("/__isola/shutdown", new { reason, graceMs = (int)grace.TotalMilliseconds }, deadline.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                // Unresponsive or already gone: the kill below ends it either way.
            }
        }

        Kill(WorkerExitKind.Stopped);
        await Exited.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public void Kill(WorkerExitKind kind)
    {
        _plannedExit ??= kind;
        try
        {
            _process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (IsAlive)
        {
            Kill(WorkerExitKind.Stopped);
            try
            {
                await Exited.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
            }
        }

        if (_channel is not null)
        {
            await _channel.DisposeAsync();
        }

        Client.Dispose();
        Invoker.Dispose();
        _process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void OnExited()
    {
        // Exited fires before the output pipes drain; give stderr a moment so OOM messages are seen.
        _ = Task.Run(async () =>
        {
            await Task.Delay(50);
            string tail;
            lock (_stderrTail)
            {
                tail = _stderrTail.ToString();
            }

            int? code = null;
            try
            {
                code = _process.ExitCode;
            }
            catch (InvalidOperationException)
            {
            }

            var kind = _plannedExit ?? (IsOutOfMemory(tail) ? WorkerExitKind.OutOfMemory : WorkerExitKind.Crashed);
            if (kind == WorkerExitKind.Stopped && IsOutOfMemory(tail))
            {
                kind = WorkerExitKind.OutOfMemory;
            }

            var detail = kind switch
            {
                WorkerExitKind.OutOfMemory => $"the worker exceeded its memory limit of {MemoryLimitMb} MB",
                WorkerExitKind.KilledUnresponsive => "the worker was killed because an invocation blocked it past its time limit",
                WorkerExitKind.Stopped => "the worker was stopped",
                _ => $"the worker process exited unexpectedly (exit code {code?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"})",
            };
            _ready.TrySetException(new InvalidOperationException(detail + LastLines(tail)));
            if (kind is WorkerExitKind.Crashed or WorkerExitKind.OutOfMemory)
            {
                LogWorkerDied(_logger, Id, detail, LastLines(tail));
            }

            // Its invocations are over: capabilities they held die with the process.
            _channel?.ReleaseGrants();
            _exited.TrySetResult(new WorkerExit(kind, code, detail));
        });
    }

    private static bool IsOutOfMemory(string stderr) =>
        stderr.Contains("out of memory", StringComparison.OrdinalIgnoreCase) || stderr.Contains("heap limit", StringComparison.OrdinalIgnoreCase);

    private static string LastLines(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "" : ": " + string.Join(" | ", lines.TakeLast(3));
    }

    private async Task ReadStdoutAsync()
    {
        var reader = _process.StandardOutput;
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line == "ISOLA_READY")
            {
                _ready.TrySetResult();
                continue;
            }

            WorkerLogLine.Dispatch(line, Id, _output);
        }
    }

    private async Task ReadStderrAsync()
    {
        var reader = _process.StandardError;
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_stderrTail)
            {
                _stderrTail.AppendLine(line);
                if (_stderrTail.Length > StderrTailBytes)
                {
                    _stderrTail.Remove(0, _stderrTail.Length - StderrTailBytes);
                }
            }

            // Deno's own messages (uncaught errors outside any invocation) still belong in the log.
            _output.OnLog(Id, null, "error", line, DateTimeOffset.UtcNow);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} died: {Detail}{Stderr}")]
    private static partial void LogWorkerDied(ILogger logger, string worker, string detail, string stderr);
}
