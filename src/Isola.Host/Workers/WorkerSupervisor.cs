using System.Collections.Concurrent;
using Isola.Host.Data;
using Isola.Host.Functions;
using Isola.Host.Gateway;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Isola.Host.Secrets;
using Isola.Host.Workers.Calls;
using Isola.Host.Workers.Memory;
using Isola.Host.Workers.Scaling;

namespace Isola.Host.Workers;

/// <summary>
/// Owns every worker process of the node: pools per function version, generic workers started
/// ahead of need, scale-to-zero of idle workers, and retirement of replaced versions.
/// </summary>
internal sealed partial class WorkerSupervisor : IAsyncDisposable
{
    private readonly ConcurrentDictionary<(Guid, int, long), WorkerPool> _pools = new();
    private readonly ConcurrentQueue<WorkerProcess> _generic = new();
    // The version (and app secrets version) each changed function points at, as last read after a change: a caller
    // still holding an older one (resolved just before the change) is sent on instead of starting a pool for it.
    private readonly ConcurrentDictionary<Guid, (int Version, long Secrets)> _currentVersion = new();
    // Changes seen per "app/name": only the handler of the latest one acts on what it read.
    private readonly ConcurrentDictionary<string, long> _changes = new(StringComparer.Ordinal);
    private readonly DeployedFunctionCache _functions;
    private readonly FunctionChanges _functionChanges;
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
    private readonly WorkerMemoryLimits _memoryLimits;
    private readonly WorkerScaler _scaler;
    // Function workers holding a place under WorkerOptions.MaxWorkers; _places also counts starts not yet done.
    private readonly ConcurrentDictionary<WorkerProcess, byte> _placed = new();
    private int _places;
    private long _evicted;
    private long _scaledOut;
    private int _scaling;
    private ITimer? _reaper;
    private ITimer? _prober;
    private ITimer? _scaleTimer;
    private int _hostPort;
    private int _genericStarting;
    private long _started;
    private long _loaded;
    private long _slotsRequested;
    private int _disposed;
    private TimeSpan _prestartBackoff;
    private DateTimeOffset _prestartRetryAt;

    public WorkerSupervisor(WorkerOptions options, WorkerLaunch launch, ArtifactCache artifacts, SecretBox secrets, IWorkerOutput output,
        DeployedFunctionCache functions, FunctionChanges changes, FunctionStore store, TimeProvider time, ILogger<WorkerSupervisor> logger, HostCallDispatcher calls, HostCallOptions callOptions)
    {
        _calls = calls;
        _callOptions = callOptions;
        _store = store;
        _functions = functions;
        _functionChanges = changes;
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
        _memoryLimits = new WorkerMemoryLimits(options, time, logger);
        _scaler = new WorkerScaler(options, time);
    }

    /// <summary>Clears what a killed host left and prepares the folders workers use; before any worker starts.</summary>
    private void PrepareFolders()
    {
        // Folders left by a host that was killed: their workers exit on their own (they watch their parent).
        if (Directory.Exists(_launch.WorkersRoot))
        {
            foreach (var stale in Directory.EnumerateDirectories(_launch.WorkersRoot))
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

        Directory.CreateDirectory(_launch.WorkersRoot);
        Directory.CreateDirectory(_launch.DenoCache);
        if (_runAs is { } user)
        {
            // Workers run as this user: they compile the runtime into their cache and reach the runtime's files.
            UnixUser.ChownRecursive(_launch.DenoCache, user.Uid, user.Gid);
            UnixUser.MakeAncestorsSearchable(_launch.WorkersRoot, dir => LogMadeSearchable(_logger, dir));
            UnixUser.MakeAncestorsSearchable(_launch.DenoPath, dir => LogMadeSearchable(_logger, dir));
        }
    }

    /// <summary>Worker processes started since the node started (pre-started ones included).</summary>
    public long WorkersStarted => Interlocked.Read(ref _started);

    /// <summary>Functions loaded into workers since the node started.</summary>
    public long FunctionsLoaded => Interlocked.Read(ref _loaded);

    public WorkerOptions Options => _options;

    /// <summary>Function workers running or starting now (pre-started ones not counted), at most <see cref="WorkerOptions.MaxWorkers"/>.</summary>
    public int FunctionWorkers => Volatile.Read(ref _places);

    /// <summary>Idle workers stopped to make room for another function's since the node started.</summary>
    public long WorkersEvicted => Interlocked.Read(ref _evicted);

    /// <summary>Workers started for a function that already had one running near a full core, since the node started.</summary>
    public long WorkersScaledOut => Interlocked.Read(ref _scaledOut);

    /// <summary>Every pooled worker with the function version it serves; for the workers endpoint and diagnostics.</summary>
    public IReadOnlyList<(DeployedFunction Function, WorkerProcess Worker)> AllWorkers() =>
        [.. _pools.Values.SelectMany(pool => pool.Snapshot().Select(worker => (pool.Function, worker)))];

    /// <summary>How workers' real memory is bounded on this node (cgroup v1 or the RSS watchdog).</summary>
    public WorkerMemoryLimits MemoryLimits => _memoryLimits;

    /// <summary>Called once the node listens: the port workers must not reach is known from here on.</summary>
    public void Start(int hostPort)
    {
        _hostPort = hostPort;
        PrepareFolders();
        _functionChanges.Changed += (app, name) => _ = RetireOldVersionsAsync(app, name);
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

        var shortest = TimeSpan.FromTicks(Math.Min(_options.IdleTimeout.Ticks, _options.ScaleInIdle.Ticks));
        var period = TimeSpan.FromMilliseconds(Math.Clamp(shortest.TotalMilliseconds / 4, 250, 15_000));
        _reaper = _time.CreateTimer(_ => ReapIdle(), null, period, period);
        _scaleTimer = _time.CreateTimer(_ => ScaleOut(), null, _options.ScaleInterval, _options.ScaleInterval);
        LogMemoryLimits(_logger, _memoryLimits.Description);
        _prober = _time.CreateTimer(_ => ProbeWorkers(), null, _options.ProbeInterval, _options.ProbeInterval);
        TopUpGeneric();
    }

    /// <summary>Requests for a worker slot since the node started; a call refused at the gateway never adds to it.</summary>
    public long SlotsRequested => Interlocked.Read(ref _slotsRequested);

    /// <summary>
    /// A slot on a worker of <paramref name="function"/>'s version. Throws <see cref="PoolRetiredException"/>
    /// when that version was replaced before a slot was free (or, unless <paramref name="evenIfReplaced"/>,
    /// already before the call): the caller resolves the current version and asks again.
    /// </summary>
    public ValueTask<WorkerLease> AcquireAsync(DeployedFunction function, CancellationToken cancellationToken, bool evenIfReplaced = false)
    {
        Interlocked.Increment(ref _slotsRequested);
        var key = function.VersionKey;
        // The factory takes its state as an argument: a closure here was allocated on every request.
        var pool = _pools.TryGetValue(key, out var existing) ? existing
            : _pools.GetOrAdd(key, static (_, state) => new WorkerPool(state.function, state.supervisor, state.supervisor._options, state.supervisor._time),
                (function, supervisor: this));
        // Checked after the pool is in the map: a change handler either sees this pool or its version is read here.
        if (!evenIfReplaced && _currentVersion.TryGetValue(function.Id, out var current) && current != (function.Version, function.SecretsVersion))
        {
            if (_pools.TryRemove(new KeyValuePair<(Guid, int, long), WorkerPool>(key, pool)))
            {
                pool.Retire();
            }

            throw new PoolRetiredException(function.Name);
        }

        return pool.AcquireAsync(cancellationToken);
    }

    /// <summary>Live workers serving a function (any version); for tests and diagnostics.</summary>
    public IReadOnlyList<WorkerProcess> WorkersOf(Guid functionId) =>
        [.. _pools.Where(p => p.Key.Item1 == functionId).SelectMany(p => p.Value.Snapshot())];

    /// <summary>Callers queued for a slot of a function (any version); for tests and diagnostics.</summary>
    public int WaitingFor(Guid functionId) => _pools.Where(p => p.Key.Item1 == functionId).Sum(p => p.Value.Waiting);

    /// <summary>
    /// Starts (or takes a pre-started) worker and loads the function into it, once the node has room under
    /// <see cref="WorkerOptions.MaxWorkers"/>: with <paramref name="evict"/> it makes room by stopping the least
    /// recently used idle worker of the node; without, or when none is idle, it throws <see cref="NoCapacityException"/>.
    /// </summary>
    internal async Task<WorkerProcess> CreateWorkerAsync(DeployedFunction function, bool evict = true)
    {
        var cancellationToken = _stopping.Token;
        await TakePlaceAsync(evict, cancellationToken);
        WorkerProcess created;
        try
        {
            created = await LoadIntoWorkerAsync(function, cancellationToken);
        }
        catch
        {
            Interlocked.Decrement(ref _places);
            throw;
        }

        _placed[created] = 0;
        _ = created.Exited.ContinueWith(_ => FreePlace(created), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        return created;
    }

    private async Task TakePlaceAsync(bool evict, CancellationToken cancellationToken)
    {
        var giveUpAt = _time.GetUtcNow() + _options.StartTimeout;
        while (true)
        {
            var taken = Volatile.Read(ref _places);
            if (taken < _options.MaxWorkers)
            {
                if (Interlocked.CompareExchange(ref _places, taken + 1, taken) == taken)
                {
                    return;
                }

                continue;
            }

            if (!evict)
            {
                throw new NoCapacityException($"the node runs its most workers ({_options.MaxWorkers}, ISOLA_WORKER_MAX)");
            }

            if (TakeLeastRecentlyUsedIdle() is { } victim)
            {
                Interlocked.Increment(ref _evicted);
                LogEvicting(_logger, victim.Worker.Id, victim.Function, _options.MaxWorkers);
                // Its place is free now, while it stops in the background: the caller waits for a start, not also
                // for a stop (beforeunload and its exit). The node briefly runs one process over the cap per eviction.
                FreePlace(victim.Worker);
                _ = StopWorkerAsync(victim.Worker, "idle");
                continue;
            }

            if (_time.GetUtcNow() >= giveUpAt)
            {
                throw new NoCapacityException($"the node runs its most workers ({_options.MaxWorkers}, ISOLA_WORKER_MAX) and none of them became idle");
            }

            // Every worker is busy: one frees up when its invocations end (or it exits).
            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken);
        }
    }

    private void FreePlace(WorkerProcess worker)
    {
        if (_placed.TryRemove(worker, out _))
        {
            Interlocked.Decrement(ref _places);
        }
    }

    /// <summary>The node's idle worker released longest ago, taken out of its pool; null when every worker is busy.</summary>
    private (WorkerProcess Worker, string Function)? TakeLeastRecentlyUsedIdle()
    {
        // Chosen, then taken under its pool's lock: one that got work in between is skipped and the next one tried.
        for (var attempt = 0; attempt < 8; attempt++)
        {
            (WorkerPool Pool, WorkerProcess Worker)? oldest = null;
            foreach (var pool in _pools.Values)
            {
                if (pool.LeastRecentlyUsedIdle() is { } idle && (oldest is null || idle.LastReleased < oldest.Value.Worker.LastReleased))
                {
                    oldest = (pool, idle);
                }
            }

            if (oldest is not { } found)
            {
                return null;
            }

            if (found.Pool.TryTakeIdle(found.Worker))
            {
                return (found.Worker, found.Pool.Function.Name);
            }
        }

        return null;
    }

    private async Task<WorkerProcess> LoadIntoWorkerAsync(DeployedFunction function, CancellationToken cancellationToken)
    {
        // Pre-started workers have the default limit and network rules; any other launch line starts fresh.
        var allowPrivate = function.Settings.Network.AllowPrivate;
        int? inspectPort = _options.InspectFunction == function.Name ? _options.InspectPort : null;
        var worker = function.Settings.MemoryLimitMb == FunctionSettings.DefaultMemoryLimitMb && !allowPrivate && inspectPort is null ? TakeGeneric() : null;
        TopUpGeneric();
        if (inspectPort is { } port)
        {
            await WaitForPortAsync(port, cancellationToken);
        }

        worker ??= await StartProcessAsync(function.Settings.MemoryLimitMb, cancellationToken, allowPrivate, inspectPort);
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

            var env = OpenEnv(function);
            var request = new WorkerLoadRequest(bundle, new WorkerFunctionInfo(function.Id, function.Name, function.AppId, function.Version),
                env, function.Settings.Bindings);
            _output.OnWorkerLoading(worker.Id, request.Function);
            _ = worker.Exited.ContinueWith(_ => _output.OnWorkerExited(worker.Id), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            await worker.LoadAsync(request, _options.LoadTimeout, cancellationToken);
            Interlocked.Increment(ref _loaded);
            return worker;
        }
        catch (Exception ex) when (DatabaseOutage.Is(ex))
        {
            // The code is read from the database (files, or an artifact not cached on disk). Say so
            // plainly; Npgsql's message would show callers the database socket's path.
            await worker.DisposeAsync();
            throw new WorkerBootException("the function's code could not be read: the database is unavailable (down or restarting); retry shortly");
        }
        catch
        {
            await worker.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Loads a bundle not yet deployed into a throw-away worker (a pre-started one when there is one), returns the
    /// runtime's load answer (<c>{"shape", "typed"?}</c>) and stops the worker. How a deploy reads a typed function's
    /// definition: its module runs in the same sandbox as every invocation, never in the host.
    /// </summary>
    public async Task<System.Text.Json.JsonElement> DescribeAsync(string appId, string functionName, FunctionSource source, byte[] bundle,
        IReadOnlyDictionary<string, string> env, CancellationToken cancellationToken)
    {
        var worker = TakeGeneric();
        TopUpGeneric();
        worker ??= await StartProcessAsync(FunctionSettings.DefaultMemoryLimitMb, cancellationToken);
        try
        {
            var functionDir = Path.Combine(worker.Directory, "functions", functionName);
            Directory.CreateDirectory(functionDir);
            await WriteFilesAsync(source, functionDir, cancellationToken);
            var bundlePath = Path.Combine(Path.GetDirectoryName(Path.Combine(functionDir, source.Entrypoint))!, ".isola-bundle.mjs");
            await File.WriteAllBytesAsync(bundlePath, bundle, cancellationToken);
            if (_runAs is { } user)
            {
                UnixUser.ChownRecursive(Path.Combine(worker.Directory, "functions"), user.Uid, user.Gid);
            }

            var request = new WorkerLoadRequest(bundlePath, new WorkerFunctionInfo(Guid.Empty, functionName, appId, 0), env, Array.Empty<object>());
            return await worker.LoadAsync(request, _options.LoadTimeout, cancellationToken);
        }
        finally
        {
            await StopWorkerAsync(worker, "terminated");
        }
    }

    /// <summary>The app's secrets, then the function's own env vars over them: a function's own value wins (C5).</summary>
    private Dictionary<string, string> OpenEnv(DeployedFunction function)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, sealedValue) in function.SealedAppSecrets ?? new Dictionary<string, string>())
        {
            env[name] = _secrets.Open(sealedValue, AppSecrets.AssociatedData(function.AppId, name));
        }

        foreach (var (name, sealedValue) in function.SealedEnv)
        {
            env[name] = _secrets.Open(sealedValue, FunctionService.EnvAssociatedData(function.Id, name));
        }

        return env;
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

    /// <summary>Stops and disposes a worker; never throws, since it runs unobserved and on shutdown.</summary>
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
        catch (Exception ex)
        {
            LogStopFailed(_logger, worker.Id, ex);
        }

        try
        {
            await worker.DisposeAsync();
        }
        catch (Exception ex)
        {
            LogStopFailed(_logger, worker.Id, ex);
        }
    }

    /// <summary>
    /// After a deadline passed: a worker that no longer answers is stuck in synchronous code, and
    /// the only way to reclaim it is to kill it; its other in-flight invocations fail with it.
    /// </summary>
    public async Task HandleDeadlineAsync(WorkerProcess worker)
    {
        if (worker.Inspected)
        {
            return; // paused at a breakpoint, most likely: the developer resumes it, not a kill
        }

        bool responsive;
        try
        {
            responsive = await worker.IsResponsiveAsync(TimeSpan.FromMilliseconds(500));
        }
        catch (ObjectDisposedException)
        {
            return; // another caller's deadline already had it killed, and its pool disposed it
        }

        if (!responsive)
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

        // Never throws: the host stops PostgreSQL after this, and must get there. _stopping is not
        // disposed: requests and pre-starts still in flight read its token after this returns.
        await _stopping.CancelAsync();
        if (_reaper is not null)
        {
            await _reaper.DisposeAsync();
        }

        if (_prober is not null)
        {
            await _prober.DisposeAsync();
        }

        if (_scaleTimer is not null)
        {
            await _scaleTimer.DisposeAsync();
        }

        var all = _pools.Values.SelectMany(pool => pool.TakeAll()).ToList();
        _pools.Clear();
        while (_generic.TryDequeue(out var generic))
        {
            all.Add(generic);
        }

        await Task.WhenAll(all.Distinct().Select(worker => StopWorkerAsync(worker, "terminated")));
        _memoryLimits.Dispose();
    }

    private async Task<WorkerProcess> StartProcessAsync(int memoryLimitMb, CancellationToken cancellationToken, bool allowPrivate = false, int? inspectPort = null)
    {
        var worker = await WorkerProcess.StartAsync(_launch, _memoryLimits, memoryLimitMb, _hostPort, _runAs, _output, _logger, _options.StartTimeout, cancellationToken,
            (_calls, _callOptions), allowPrivate, inspectPort);
        Interlocked.Increment(ref _started);
        return worker;
    }

    /// <summary>
    /// The inspector's port is free once the worker of the version just replaced has exited; a worker started
    /// before then could not listen on it and would fail its start.
    /// </summary>
    private async Task WaitForPortAsync(int port, CancellationToken cancellationToken)
    {
        var until = _time.GetUtcNow() + _options.StopGrace + TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                probe.Start();
                probe.Stop();
                return;
            }
            catch (System.Net.Sockets.SocketException) when (_time.GetUtcNow() < until)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), _time, cancellationToken);
            }
            catch (System.Net.Sockets.SocketException)
            {
                throw new WorkerBootException($"the inspector's port 127.0.0.1:{port} is taken by another process");
            }
        }
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
        // After a failed pre-start, wait before trying again (1 s, doubling to a minute): a broken
        // runtime must not spawn a process on every call, and a passing fault must not stick.
        if (_time.GetUtcNow() < _prestartRetryAt)
        {
            return;
        }

        var missing = _options.Prestarted - _generic.Count - Volatile.Read(ref _genericStarting);
        for (var i = 0; i < missing && !_stopping.IsCancellationRequested; i++)
        {
            Interlocked.Increment(ref _genericStarting);
            _ = Task.Run(async () =>
            {
                try
                {
                    var worker = await StartProcessAsync(FunctionSettings.DefaultMemoryLimitMb, _stopping.Token);
                    _prestartBackoff = TimeSpan.Zero;
                    _generic.Enqueue(worker);
                    // Started while the supervisor was being disposed: the drain may have run already.
                    if (_stopping.IsCancellationRequested)
                    {
                        while (_generic.TryDequeue(out var late))
                        {
                            await StopWorkerAsync(late, "terminated");
                        }
                    }
                }
                catch (Exception ex) when (ex is WorkerBootException or OperationCanceledException or IOException or
                    UnauthorizedAccessException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    if (!_stopping.IsCancellationRequested)
                    {
                        _prestartBackoff = _prestartBackoff == TimeSpan.Zero ? TimeSpan.FromSeconds(1)
                            : TimeSpan.FromTicks(Math.Min(_prestartBackoff.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
                        _prestartRetryAt = _time.GetUtcNow() + _prestartBackoff;
                        LogPrestartFailed(_logger, ex.Message);
                    }
                }
                finally
                {
                    Interlocked.Decrement(ref _genericStarting);
                }
            });
        }
    }

    /// <summary>
    /// After a deploy, update, rollback or delete (raised at once on this node and again by the NOTIFY,
    /// which may arrive late): reads the current version and retires every other version's pool. Never
    /// the current one: a late or repeated notice must not retire the pool that serves now.
    /// </summary>
    private async Task RetireOldVersionsAsync(string appId, string name)
    {
        var key = appId + "/" + name;
        var change = _changes.AddOrUpdate(key, 1, (_, n) => n + 1);
        DeployedFunction? current;
        try
        {
            current = await _functions.FindAsync(appId, name, _stopping.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            return; // shutting down
        }
        catch (Exception ex)
        {
            // The database is unreachable: old versions keep serving until the next notice.
            LogChangeNotApplied(_logger, key, ex.Message);
            return;
        }

        if (_changes.TryGetValue(key, out var latest) && latest != change)
        {
            return; // a later change was seen meanwhile; its handler reads a fresher state
        }

        if (current is not null)
        {
            _currentVersion[current.Id] = (current.Version, current.SecretsVersion);
        }

        var replacedInUse = false;
        foreach (var (versionKey, pool) in _pools)
        {
            if (pool.Function.AppId == appId && pool.Function.Name == name && versionKey != current?.VersionKey)
            {
                replacedInUse |= pool.Function.Id == current?.Id && !pool.IsEmpty;
                if (pool.Function.Id != current?.Id)
                {
                    _currentVersion[pool.Function.Id] = (0, 0); // deleted (or replaced by a new function of that name)
                }

                if (_pools.TryRemove(new KeyValuePair<(Guid, int, long), WorkerPool>(versionKey, pool)))
                {
                    pool.Retire();
                }
            }
        }

        // The old version was serving: its callers will call the new one, which should be loaded before they do.
        if (replacedInUse && current is not null)
        {
            _pools.GetOrAdd(current.VersionKey, _ => new WorkerPool(current, this, _options, _time)).Warm();
        }
    }

    /// <summary>Finds blocked workers (see <see cref="WorkerPool.ProbeAsync"/>); a probe still running is not repeated.</summary>
    private void ProbeWorkers()
    {
        foreach (var pool in _pools.Values)
        {
            // Most pools of a full node are idle: a task for each, four times a second, was most of an idle
            // node's CPU and allocations (188 pools: about 750 work items a second).
            if (!pool.HasProbeTargets)
            {
                continue;
            }

            _ = Task.Run(async () =>
            {
                foreach (var worker in await pool.ProbeAsync(_options.ProbeTimeout))
                {
                    LogWorkerBlocked(_logger, worker.Id, pool.Function.Name, worker.InFlight);
                }
            });
        }
    }

    /// <summary>One round of <see cref="WorkerScaler"/>: hot functions get another worker.</summary>
    internal void ScaleOut()
    {
        // One round at a time: a timer tick that comes while a slow round still reads /proc skips its turn.
        if (_stopping.IsCancellationRequested || Interlocked.Exchange(ref _scaling, 1) == 1)
        {
            return;
        }

        try
        {
            foreach (var decision in _scaler.Check(_pools.Values))
            {
                if (decision.Pool.TryScaleOut())
                {
                    Interlocked.Increment(ref _scaledOut);
                    LogScalingOut(_logger, decision.Pool.Function.Name, decision.Workers, (int)(decision.SlowestCpu * 100), decision.InFlight);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _scaling, 0);
        }
    }

    internal void ReapIdle()
    {
        var now = _time.GetUtcNow();
        var cutoff = now - _options.IdleTimeout;
        var extraCutoff = now - _options.ScaleInIdle;
        foreach (var (key, pool) in _pools)
        {
            foreach (var worker in pool.TakeIdle(cutoff, extraCutoff))
            {
                LogStoppingIdle(_logger, worker.Id, pool.Function.Name);
                _ = StopWorkerAsync(worker, "idle");
            }

            if (pool.IsEmpty)
            {
                _pools.TryRemove(new KeyValuePair<(Guid, int, long), WorkerPool>(key, pool));
            }
        }

        TopUpGeneric();
    }

    [LoggerMessage(EventId = LogEvents.WorkerFolderMadeSearchable, Level = LogLevel.Warning, Message = "Added the search (o+x) bit to {Dir} so workers (running unprivileged) can reach their files")]
    private static partial void LogMadeSearchable(ILogger logger, string dir);

    [LoggerMessage(EventId = LogEvents.WorkerStoppingIdle, Level = LogLevel.Debug, Message = "Stopping idle worker {Worker} of {Function}")]
    private static partial void LogStoppingIdle(ILogger logger, string worker, string function);

    [LoggerMessage(EventId = LogEvents.WorkerScalingOut, Level = LogLevel.Information, Message = "Starting another worker for {Function}: its {Workers} worker(s) each used at least {CpuPercent}% of a core with {InFlight} invocations in flight")]
    private static partial void LogScalingOut(ILogger logger, string function, int workers, int cpuPercent, int inFlight);

    [LoggerMessage(EventId = LogEvents.WorkerEvicted, Level = LogLevel.Debug, Message = "Stopping idle worker {Worker} of {Function} to make room: the node runs its most workers ({MaxWorkers})")]
    private static partial void LogEvicting(ILogger logger, string worker, string function, int maxWorkers);

    [LoggerMessage(EventId = LogEvents.WorkerKillingUnresponsive, Level = LogLevel.Warning, Message = "Killing worker {Worker}: it stopped answering after a deadline ({InFlight} invocations in flight)")]
    private static partial void LogKillingUnresponsive(ILogger logger, string worker, int inFlight);

    [LoggerMessage(EventId = LogEvents.MemoryLimitsInForce, Level = LogLevel.Information, Message = "Worker memory limits: {Enforcement}")]
    private static partial void LogMemoryLimits(ILogger logger, string enforcement);

    [LoggerMessage(EventId = LogEvents.WorkerBlocked, Level = LogLevel.Warning, Message = "Worker {Worker} of {Function} missed its health probe ({InFlight} invocations in flight): no new requests go to it")]
    private static partial void LogWorkerBlocked(ILogger logger, string worker, string function, int inFlight);

    [LoggerMessage(EventId = LogEvents.VersionChangeNotApplied, Level = LogLevel.Warning, Message = "Could not read the current version of {Function} after a change ({Reason}); its old versions keep serving")]
    private static partial void LogChangeNotApplied(ILogger logger, string function, string reason);

    [LoggerMessage(EventId = LogEvents.WorkerPrestartFailed, Level = LogLevel.Warning, Message = "Could not pre-start a worker: {Reason}")]
    private static partial void LogPrestartFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.WorkerStopFailed, Level = LogLevel.Warning, Message = "Stopping worker {Worker} failed")]
    private static partial void LogStopFailed(ILogger logger, string worker, Exception exception);

    [LoggerMessage(EventId = LogEvents.WorkerStopTimedOut, Level = LogLevel.Warning, Message = "Worker {Worker} did not stop in time")]
    private static partial void LogStopTimedOut(ILogger logger, string worker);
}
