using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Isola.Host.Data;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Isola.Host.Workers.Calls;
using Isola.Host.Workers.Memory;

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
    private readonly IWorkerMemoryGuard _memory;
    private readonly long _processLimitBytes;
    private WorkerExitKind? _plannedExit;
    private HostCallChannel? _channel;
    private readonly WorkerControlClient _control;
    private readonly WorkerSlots _slots = new();
    private int _disposed;

    private WorkerProcess(string id, string directory, int memoryLimitMb, long processLimitBytes, IWorkerMemoryGuard memory, Process process,
        IWorkerOutput output, ILogger logger)
    {
        Id = id;
        Directory = directory;
        MemoryLimitMb = memoryLimitMb;
        _processLimitBytes = processLimitBytes;
        _memory = memory;
        _process = process;
        _output = output;
        _logger = logger;
        SocketPath = Path.Combine(directory, WorkerProtocol.WorkerSocket);
        _control = new WorkerControlClient(SocketPath);
    }

    public string Id { get; }

    public string Directory { get; }

    public string SocketPath { get; }

    public int MemoryLimitMb { get; }

    /// <summary>Started with the V8 inspector (<see cref="WorkerOptions.InspectFunction"/>): a debugger may hold it paused.</summary>
    public bool Inspected { get; private init; }

    /// <summary>The OS process id, kept from the start: the Process object may be disposed while leases still point here.</summary>
    public int Pid { get; private set; }

    /// <summary>Sends invocations to the worker.</summary>
    public HttpMessageInvoker Invoker => _control.Invoker;

    /// <summary>Completes when the process has ended, saying why.</summary>
    public Task<WorkerExit> Exited => _exited.Task;

    public bool IsAlive => !_exited.Task.IsCompleted;

    public int InFlight => _slots.InFlight;

    public DateTimeOffset LastReleased => _slots.LastReleased;

    public static async Task<WorkerProcess> StartAsync(WorkerLaunch launch, WorkerMemoryLimits memoryLimits, int memoryLimitMb, int hostPort,
        (uint Uid, uint Gid)? runAs, IWorkerOutput output, ILogger logger, TimeSpan timeout, CancellationToken cancellationToken,
        (HostCallDispatcher Dispatcher, HostCallOptions Options)? calls = null, bool allowPrivate = false, int? inspectPort = null)
    {
        var id = Guid.NewGuid().ToString("N")[..12];
        var directory = Path.Combine(launch.WorkersRoot, id);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "tmp"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "functions"));
        if (runAs is { } user)
        {
            UnixUser.ChownRecursive(directory, user.Uid, user.Gid);
        }

        var info = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = directory,
        };
        var (fileName, arguments) = launch.Command(directory, memoryLimitMb, hostPort, allowPrivate, runAs, inspectPort);
        info.FileName = fileName;
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

        IWorkerMemoryGuard memory;
        try
        {
            memory = memoryLimits.Create(id, memoryLimitMb);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TryDeleteDirectory(directory);
            throw new WorkerBootException($"the worker's memory limit could not be set up: {ex.Message}");
        }

        HostCallChannel? channel = null;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var worker = new WorkerProcess(id, directory, memoryLimitMb, memoryLimits.ProcessLimitBytes(memoryLimitMb), memory, process, output, logger)
        {
            Inspected = inspectPort is not null,
        };
        process.Exited += (_, _) => worker.OnExited();
        try
        {
            // Listening before the process starts: the runtime connects right after ISOLA_READY.
            channel = calls is { } c ? HostCallChannel.Listen(directory, id, runAs, c.Dispatcher, c.Options, logger) : null;
            worker._channel = channel;
            process.Start();
        }
        catch
        {
            if (channel is not null)
            {
                await channel.DisposeAsync();
            }

            memory.Dispose();
            TryDeleteDirectory(directory);
            throw;
        }

        worker.Pid = process.Id;
        try
        {
            // Before ISOLA_READY, so before any user code: the function is loaded only after it.
            memory.Attach(process.Id, () => worker.Kill(WorkerExitKind.OutOfMemory));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            worker.Kill(WorkerExitKind.Stopped);
            await worker.DisposeAsync();
            throw new WorkerBootException($"the worker could not be put under its memory limit: {ex.Message}");
        }

        process.StandardInput.Close();
        _ = worker.ReadStdoutAsync();
        _ = worker.ReadStderrAsync();
        var started = Stopwatch.GetTimestamp();
        try
        {
            await worker._ready.Task.WaitAsync(timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            // What the worker said before giving up is usually the reason (a missing file, a permission, a crash).
            var detail = ex is InvalidOperationException ? ex.Message : $"no ISOLA_READY within {timeout.TotalSeconds:0.#} s{LastLines(worker.StderrTail)}";
            worker.Kill(WorkerExitKind.Stopped);
            await worker.DisposeAsync();
            throw new WorkerBootException($"the worker process did not start: {detail}");
        }

        LogReady(logger, id, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return worker;
    }

    /// <summary>
    /// Loads a bundle into a started worker and returns the runtime's answer (<c>{"shape", "typed"?}</c>); throws
    /// <see cref="WorkerBootException"/> with the function's error.
    /// </summary>
    public async Task<JsonElement> LoadAsync(WorkerLoadRequest request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        HttpResponseMessage response;
        try
        {
            response = await _control.LoadAsync(request, deadline.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            // A worker dying mid-load breaks the connection before its exit is seen: give the exit a moment to say why.
            var exit = deadline.IsCancellationRequested ? null
                : await Exited.WaitAsync(TimeSpan.FromSeconds(2), CancellationToken.None).ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : null, TaskScheduler.Default);
            var reason = exit?.Detail ?? (deadline.IsCancellationRequested ? $"loading took longer than {timeout.TotalSeconds:0.#} s" : ex.Message);
            throw new WorkerBootException($"the function failed to load: {reason}");
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                throw new WorkerBootException("the function failed to load: " + WorkerJson.ErrorMessage(body));
            }

            try
            {
                return JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)).RootElement.Clone();
            }
            catch (JsonException)
            {
                return default; // A runtime that says nothing about the shape; nothing depends on it but typed functions.
            }
        }
    }

    /// <summary>Asks the worker whether its event loop answers; a busy-looping worker does not.</summary>
    public Task<bool> IsResponsiveAsync(TimeSpan timeout) => IsAlive ? _control.IsResponsiveAsync(timeout) : Task.FromResult(false);

    public bool TryReserve(int concurrency) => IsAlive && _slots.TryReserve(concurrency);

    public void Release(DateTimeOffset now) => _slots.Release(now);

    /// <summary>
    /// The worker process's real peak memory so far: the cgroup's max usage (one pread), or the VmHWM of its
    /// process tree under the watchdog. Read when an invocation ends, so a short one that filled buffers shows them;
    /// invocations that end within <see cref="PeakReadInterval"/> of the last read share it (under load a read per
    /// request, behind a lock, cost 2.5 % of the host's CPU in perf profiles).
    /// </summary>
    public long? PeakMemoryBytes
    {
        get
        {
            var now = Stopwatch.GetTimestamp();
            var last = Volatile.Read(ref _peakReadAt);
            if (now - last >= PeakReadInterval && Interlocked.CompareExchange(ref _peakReadAt, now, last) == last)
            {
                Volatile.Write(ref _peak, _memory.ReadPeakBytes() ?? 0);
            }

            var peak = Volatile.Read(ref _peak);
            return peak > 0 ? peak : null;
        }
    }

    private static readonly long PeakReadInterval = Stopwatch.Frequency / 1000; // 1 ms
    private long _peakReadAt = -Stopwatch.Frequency;
    private long _peak;

    /// <summary>
    /// Runs beforeunload and pending background work (bounded by <paramref name="grace"/>), then kills
    /// the process. Safe on a worker already disposed (its client is gone; there is nothing left to stop).
    /// </summary>
    public async Task StopAsync(string reason, TimeSpan grace)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (IsAlive)
        {
            _plannedExit ??= WorkerExitKind.Stopped;
            await _control.ShutdownAsync(reason, grace);
        }

        Kill(WorkerExitKind.Stopped);
        await Exited.WaitAsync(TimeSpan.FromSeconds(10));
    }

    public void Kill(WorkerExitKind kind)
    {
        _plannedExit ??= kind;
        try
        {
            if (_process.HasExited)
            {
                return; // reaped: its pid may already be another process's
            }

            // The tree from /proc/PID/task/PID/children, listed before the root dies: Process.Kill(entireProcessTree)
            // reads every process of the machine for it, about a megabyte of allocations per stop on a full node.
            var tree = ProcessTree.Of(Pid);
            _process.Kill();
            for (var i = 1; i < tree.Count; i++)
            {
                _ = SendSignal(tree[i], SigKill); // one that exited meanwhile answers ESRCH: nothing left to stop
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited (or disposed).
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exited between the check and the kill.
        }
    }

    private const int SigKill = 9;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill")]
    private static partial int SendSignal(int pid, int signal);

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

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

        _control.Dispose();
        _process.Dispose();
        _memory.Dispose();
        TryDeleteDirectory(Directory);
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private string StderrTail
    {
        get
        {
            lock (_stderrTail)
            {
                return _stderrTail.ToString();
            }
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

            // Asked before the guard goes: a process the kernel OOM-killed says nothing on stderr.
            var heapExhausted = IsOutOfMemory(tail);
            var processLimitReached = _memory.LimitReached;
            _memory.ReadPeakBytes();
            _memory.Dispose();
            var kind = _plannedExit ?? (heapExhausted || processLimitReached ? WorkerExitKind.OutOfMemory : WorkerExitKind.Crashed);
            if (kind == WorkerExitKind.Stopped && (heapExhausted || processLimitReached))
            {
                kind = WorkerExitKind.OutOfMemory;
            }

            var detail = kind switch
            {
                WorkerExitKind.OutOfMemory when heapExhausted => $"the worker exceeded its memory limit of {MemoryLimitMb} MB (V8 heap)",
                WorkerExitKind.OutOfMemory =>
                    $"the worker exceeded its memory limit of {MemoryLimitMb} MB (process memory over {_processLimitBytes / (1024 * 1024)} MB, runtime included)",
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
            if (line == WorkerProtocol.ReadyLine)
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

    [LoggerMessage(EventId = LogEvents.WorkerReady, Level = LogLevel.Debug, Message = "Worker {Worker} is ready {Milliseconds:0} ms after its process started")]
    private static partial void LogReady(ILogger logger, string worker, double milliseconds);

    [LoggerMessage(EventId = LogEvents.WorkerDied, Level = LogLevel.Warning, Message = "Worker {Worker} died: {Detail}{Stderr}")]
    private static partial void LogWorkerDied(ILogger logger, string worker, string detail, string stderr);
}
