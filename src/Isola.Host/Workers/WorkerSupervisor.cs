using System.Collections.Concurrent;
using Isola.Host.Data;
using Isola.Host.Functions;
using Isola.Host.Gateway;
using Isola.Host.Secrets;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Workers;

/// <summary>
/// Owns every worker process of the node: pools per function version, generic workers started
/// ahead of need, scale-to-zero of idle workers, and retirement of replaced versions.
/// </summary>
internal sealed partial class WorkerSupervisor : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(Guid, int), WorkerPool> _pools = new();
    private readonly ConcurrentQueue<WorkerProcess> _generic = new();
    private readonly WorkerOptions _options;
    private readonly WorkerLaunch _launch;
    private readonly ArtifactCache _artifacts;
    private readonly FunctionStore _store;
    private readonly SecretBox _secrets;
    private readonly IWorkerOutput _output;
    private readonly TimeProvider _time;
    private readonly ILogger<WorkerSupervisor> _logger;
    private readonly HostCallDispatcher _calls;
    private readonly HostCallOptions _callOptions;
    private readonly (uint Uid, uint Gid)? _runAs;
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _reaper;
    private ITimer? _sampler;
    private int _hostPort;
    private int _genericStarting;
    private long _started;
    private long _loaded;
    private long _slotsRequested;
    private int _disposed;

    public WorkerSupervisor(WorkerOptions options, WorkerLaunch launch, ArtifactCache artifacts, SecretBox secrets, IWorkerOutput output,
        FunctionRegistry registry, FunctionStore store, TimeProvider time, ILogger<WorkerSupervisor> logger, HostCallDispatcher calls, HostCallOptions callOptions)
    {
        _calls = calls;
        _callOptions = callOptions;
        _store = store;
        _options = options;
        _launch = launch;
        _artifacts = artifacts;
        _secrets = secrets;
        _output = output;
        _time = time;
        _logger = logger;
        _runAs = UnixUser.IsRoot
            ? UnixUser.Find(options.RunAsUser ?? "nobody") ?? throw new Hosting.StartupException($"worker user '{options.RunAsUser ?? "nobody"}' does not exist")
            : null;
        registry.Changed += (app, name) => RetireOldVersions(app, name);
        // Folders left by a host that was killed: their workers exit on their own (they watch their parent).
        if (Directory.Exists(launch.WorkersRoot))
        {
            foreach (var stale in Directory.EnumerateDirectories(launch.WorkersRoot))
            {
                try
                {
                    Directory.Delete(stale, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        Directory.CreateDirectory(launch.WorkersRoot);
        Directory.CreateDirectory(launch.DenoCache);
        if (_runAs is { } user)
        {
            // Workers run as this user: they compile the runtime into their cache and reach the runtime's files.
            UnixUser.ChownRecursive(launch.DenoCache, user.Uid, user.Gid);
            UnixUser.MakeAncestorsSearchable(launch.WorkersRoot, dir => LogMadeSearchable(logger, dir));
            UnixUser.MakeAncestorsSearchable(launch.DenoPath, dir => LogMadeSearchable(logger, dir));
        }
    }

    /// <summary>Worker processes started since the node started (pre-started ones included).</summary>
    public long WorkersStarted => Interlocked.Read(ref _started);

    /// <summary>Functions loaded into workers since the node started.</summary>
    public long FunctionsLoaded => Interlocked.Read(ref _loaded);

    public WorkerOptions Options => _options;

    /// <summary>Called once the node listens: the port workers must not reach is known from here on.</summary>
    public void Start(int hostPort)
    {
        _hostPort = hostPort;
        if (_runAs is not null)
        {
            try
            {
                UnixUser.MakeAncestorsSearchable(_launch.BootstrapPath, dir => LogMadeSearchable(_logger, dir));
            }
            catch (WorkerBootException ex)
            {
                LogPrestartFailed(_logger, ex.Message);
            }
        }

        var period = TimeSpan.FromMilliseconds(Math.Clamp(_options.IdleTimeout.TotalMilliseconds / 4, 250, 15_000));
        _reaper = _time.CreateTimer(_ => ReapIdle(), null, period, period);
        _sampler = _time.CreateTimer(_ => SampleMemory(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
        TopUpGeneric();
    }

    /// <summary>Requests for a worker slot since the node started; a call refused at the gateway never adds to it.</summary>
    public long SlotsRequested => Interlocked.Read(ref _slotsRequested);

    public ValueTask<WorkerLease> AcquireAsync(DeployedFunction function, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _slotsRequested);
        var pool = _pools.GetOrAdd(function.VersionKey, _ => new WorkerPool(function, this, _options, _time));
        return pool.AcquireAsync(cancellationToken);
    }

    /// <summary>Live workers serving a function (any version); for tests and diagnostics.</summary>
    public IReadOnlyList<WorkerProcess> WorkersOf(Guid functionId) =>
        [.. _pools.Where(p => p.Key.Item1 == functionId).SelectMany(p => p.Value.Snapshot())];

    /// <summary>Starts (or takes a pre-started) worker and loads the function into it.</summary>
    internal async Task<WorkerProcess> CreateWorkerAsync(DeployedFunction function)
    {
        var cancellationToken = _stopping.Token;
        var worker = function.Settings.MemoryLimitMb == FunctionSettings.DefaultMemoryLimitMb ? TakeGeneric() : null;
        TopUpGeneric();
        worker ??= await StartProcessAsync(function.Settings.MemoryLimitMb, cancellationToken);
        try
        {
            var functionDir = Path.Combine(worker.Directory, "functions", function.Name);
            Directory.CreateDirectory(functionDir);
            var entryDir = functionDir;
            if (function.HasFiles && await _store.GetFilesAsync(function.Id, function.Version, cancellationToken) is { } source)
            {
                // Files deployed with the function stay readable next to its code (relative to import.meta.url).
                await WriteFilesAsync(source, functionDir, cancellationToken);
                entryDir = Path.GetDirectoryName(Path.Combine(functionDir, source.Entrypoint))!;
            }

            var bundle = Path.Combine(entryDir, ".isola-bundle.mjs");
            File.Copy(await _artifacts.GetPathAsync(function.ArtifactHash, cancellationToken), bundle, overwrite: true);
            if (_runAs is { } user)
            {
                UnixUser.ChownRecursive(Path.Combine(worker.Directory, "functions"), user.Uid, user.Gid);
            }

            var env = function.SealedEnv.ToDictionary(
                pair => pair.Key,
                pair => _secrets.Open(pair.Value, FunctionService.EnvAssociatedData(function.Id, pair.Key)));
            var request = new WorkerLoadRequest(bundle, new WorkerFunctionInfo(function.Id, function.Name, function.AppId, function.Version),
                env, function.Settings.Bindings);
            await worker.LoadAsync(request, _options.LoadTimeout, cancellationToken);
            worker.SamplePeakMemory();
            Interlocked.Increment(ref _loaded);
            return worker;
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    private static async Task WriteFilesAsync(FunctionSource source, string functionDir, CancellationToken cancellationToken)
    {
        var functionsRoot = Path.GetDirectoryName(functionDir)! + Path.DirectorySeparatorChar;
        foreach (var (path, bytes) in source.Files)
        {
            var target = Path.GetFullPath(Path.Combine(functionDir, path));
            if (!target.StartsWith(functionsRoot, StringComparison.Ordinal))
            {
                continue; // Validated at deploy; never write outside the worker's functions folder.
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            await File.WriteAllBytesAsync(target, bytes, cancellationToken);
        }
    }

    internal async Task StopWorkerAsync(WorkerProcess worker, string reason)
    {
        try
        {
            await worker.StopAsync(reason, _options.StopGrace);
        }
        catch (TimeoutException)
        {
            LogStopTimedOut(_logger, worker.Id);
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    /// <summary>
    /// After a deadline passed: a worker that no longer answers is stuck in synchronous code, and
    /// the only way to reclaim it is to kill it; its other in-flight invocations fail with it.
    /// </summary>
    public async Task HandleDeadlineAsync(WorkerProcess worker)
    {
        if (!await worker.IsResponsiveAsync(TimeSpan.FromMilliseconds(500)))
        {
            LogKillingUnresponsive(_logger, worker.Id, worker.InFlight);
            worker.Kill(WorkerExitKind.KilledUnresponsive);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The host disposes it explicitly (before the database goes) and the container again at the end.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stopping.CancelAsync();
        if (_reaper is not null)
        {
            await _reaper.DisposeAsync();
        }

        if (_sampler is not null)
        {
            await _sampler.DisposeAsync();
        }

        var all = _pools.Values.SelectMany(pool => pool.TakeAll()).ToList();
        _pools.Clear();
        while (_generic.TryDequeue(out var generic))
        {
            all.Add(generic);
        }

        await Task.WhenAll(all.Select(worker => StopWorkerAsync(worker, "terminated")));
        _stopping.Dispose();
    }

    private async Task<WorkerProcess> StartProcessAsync(int memoryLimitMb, CancellationToken cancellationToken)
    {
        var worker = await WorkerProcess.StartAsync(_launch, memoryLimitMb, _hostPort, _runAs, _output, _logger, _options.StartTimeout, cancellationToken,
            (_calls, _callOptions));
        Interlocked.Increment(ref _started);
        return worker;
    }

    private WorkerProcess? TakeGeneric()
    {
        while (_generic.TryDequeue(out var worker))
        {
            if (worker.IsAlive)
            {
                return worker;
            }

            _ = worker.DisposeAsync().AsTask();
        }

        return null;
    }

    private void TopUpGeneric()
    {
        var missing = _options.Prestarted - _generic.Count - Volatile.Read(ref _genericStarting);
        for (var i = 0; i < missing && !_stopping.IsCancellationRequested; i++)
        {
            Interlocked.Increment(ref _genericStarting);
            _ = Task.Run(async () =>
            {
                try
                {
                    var worker = await StartProcessAsync(FunctionSettings.DefaultMemoryLimitMb, _stopping.Token);
                    if (_stopping.IsCancellationRequested)
                    {
                        await worker.DisposeAsync();
                    }
                    else
                    {
                        _generic.Enqueue(worker);
                    }
                }
                catch (Exception ex) when (ex is WorkerBootException or OperationCanceledException or IOException or System.ComponentModel.Win32Exception)
                {
                    LogPrestartFailed(_logger, ex.Message);
                }
                finally
                {
                    Interlocked.Decrement(ref _genericStarting);
                }
            });
        }
    }

    private void RetireOldVersions(string appId, string name)
    {
        foreach (var (key, pool) in _pools)
        {
            if (pool.Function.AppId == appId && pool.Function.Name == name && _pools.TryRemove(key, out _))
            {
                pool.Retire();
            }
        }
    }

    /// <summary>Peak memory per worker for invocation records, sampled here instead of on the request path.</summary>
    private void SampleMemory()
    {
        foreach (var pool in _pools.Values)
        {
            foreach (var worker in pool.Snapshot())
            {
                if (worker.InFlight > 0)
                {
                    worker.SamplePeakMemory();
                }
            }
        }
    }

    private void ReapIdle()
    {
        var cutoff = _time.GetUtcNow() - _options.IdleTimeout;
        foreach (var (key, pool) in _pools)
        {
            foreach (var worker in pool.TakeIdle(cutoff))
            {
                LogStoppingIdle(_logger, worker.Id, pool.Function.Name);
                _ = StopWorkerAsync(worker, "idle");
            }

            if (pool.IsEmpty)
            {
                _pools.TryRemove(new KeyValuePair<(Guid, int), WorkerPool>(key, pool));
            }
        }

        TopUpGeneric();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Added the search (o+x) bit to {Dir} so workers (running unprivileged) can reach their files")]
    private static partial void LogMadeSearchable(ILogger logger, string dir);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stopping idle worker {Worker} of {Function}")]
    private static partial void LogStoppingIdle(ILogger logger, string worker, string function);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Killing worker {Worker}: it stopped answering after a deadline ({InFlight} invocations in flight)")]
    private static partial void LogKillingUnresponsive(ILogger logger, string worker, int inFlight);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not pre-start a worker: {Reason}")]
    private static partial void LogPrestartFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} did not stop in time")]
    private static partial void LogStopTimedOut(ILogger logger, string worker);
}
