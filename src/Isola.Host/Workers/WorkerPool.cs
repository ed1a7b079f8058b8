using Isola.Host.Functions;

namespace Isola.Host.Workers;

/// <summary>
/// The workers of one function version. Hands out concurrency slots to the least loaded live worker,
/// starts another when all are full or when the scaler finds every one near a full core (up to the limit;
/// decision 029), and otherwise queues callers for a bounded wait.
/// A worker that misses its health probe (its event loop is blocked) gets no new work until it answers
/// again or is killed, and does not count against the limit, so another one can start in its place
/// (decision 011).
/// </summary>
internal sealed class WorkerPool(DeployedFunction function, WorkerSupervisor supervisor, WorkerOptions options, TimeProvider time)
{
    private readonly object _gate = new();
    private readonly List<WorkerProcess> _workers = [];
    private readonly LinkedList<TaskCompletionSource<WorkerLease>> _waiters = new();
    private readonly HashSet<WorkerProcess> _blocked = [];
    private readonly HashSet<WorkerProcess> _probing = [];
    private int _starting;
    private (DateTimeOffset At, string Message)? _bootFailure;

    // Its workers carry the inspector, whose one port allows one process at a time.
    private readonly bool _inspected = options.InspectFunction is { } inspected && inspected == function.Name;

    public DeployedFunction Function => function;

    /// <summary>Set when a newer version took over: no new work, workers stop as they go idle.</summary>
    public bool Retiring { get; private set; }

    /// <summary>No workers, none starting, nobody waiting: the pool can be dropped without losing anything.</summary>
    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _workers.Count == 0 && _starting == 0 && _waiters.Count == 0;
            }
        }
    }

    /// <summary>Callers queued for a slot; for tests and diagnostics.</summary>
    public int Waiting
    {
        get
        {
            lock (_gate)
            {
                return _waiters.Count;
            }
        }
    }

    public async ValueTask<WorkerLease> AcquireAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<WorkerLease>? waiter = null;
        LinkedListNode<TaskCompletionSource<WorkerLease>>? node = null;
        var start = false;
        var wait = options.QueueWait;
        lock (_gate)
        {
            if (Retiring)
            {
                // A draining worker may still take it; otherwise the caller moves on to the current version.
                return TryReserveLocked() ?? throw new PoolRetiredException(function.Name);
            }

            if (_bootFailure is { } failure && time.GetUtcNow() - failure.At < options.BootFailureBackoff)
            {
                throw new WorkerBootException(failure.Message);
            }

            if (TryReserveLocked() is { } lease)
            {
                return lease;
            }

            // A worker already starting takes Concurrency callers: only those beyond start another. Before, each
            // caller of a cold burst started one (up to the limit), and a function kept workers it never needed.
            if (_waiters.Count >= _starting * options.Concurrency && CanStartLocked())
            {
                _starting++;
                start = true;
            }

            if (_starting > 0)
            {
                // A worker is on its way: a cold start is not a capacity problem, so wait for it too.
                wait += options.StartTimeout + options.LoadTimeout;
            }

            waiter = new TaskCompletionSource<WorkerLease>(TaskCreationOptions.RunContinuationsAsynchronously);
            node = _waiters.AddLast(waiter);
        }

        if (start)
        {
            _ = StartWorkerAsync(evict: true);
        }

        var extended = false;
        var waited = wait;
        while (true)
        {
            try
            {
                return await waiter.Task.WaitAsync(wait, time, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                lock (_gate)
                {
                    if (node.List is not null)
                    {
                        if (ex is OperationCanceledException)
                        {
                            _waiters.Remove(node);
                            throw;
                        }

                        if (!extended && _starting > 0)
                        {
                            // A worker started while this caller queued (a crash or a blocked worker replaced):
                            // its cold start is not a capacity problem either, so wait for it once more.
                            extended = true;
                            wait = options.StartTimeout + options.LoadTimeout;
                            waited += wait;
                            continue;
                        }

                        _waiters.Remove(node);
                        throw new NoCapacityException(_workers.Count == 0
                            ? $"no worker of '{function.Name}' became ready within {waited.TotalSeconds:0.#} s"
                            : $"all {_workers.Count} workers of '{function.Name}' stayed busy for {waited.TotalSeconds:0.#} s");
                    }
                }

                // Completed while timing out: the slot is ours, keep it or hand it back.
                var lease = await waiter.Task;
                if (ex is OperationCanceledException)
                {
                    lease.Dispose();
                    throw;
                }

                return lease;
            }
        }
    }

    public void Release(WorkerProcess worker)
    {
        var stop = false;
        lock (_gate)
        {
            if (!Retiring && worker.IsAlive && !_blocked.Contains(worker))
            {
                // Hand the slot straight to the longest waiter: it keeps the worker's in-flight count.
                while (_waiters.First is { } first)
                {
                    _waiters.RemoveFirst();
                    if (first.Value.TrySetResult(new WorkerLease(worker, this)))
                    {
                        return;
                    }
                }
            }

            worker.Release(time.GetUtcNow());
            if (Retiring && worker.InFlight == 0 && _workers.Remove(worker))
            {
                stop = true;
            }
        }

        if (stop)
        {
            _ = supervisor.StopWorkerAsync(worker, "replaced");
        }
    }

    /// <summary>
    /// Starts a first worker before any call asks for one, when the pool has none: the version replaced one that was
    /// in use, so a call is expected, and it should find the new code loaded instead of waiting for the load
    /// (<c>isola dev</c>'s save → served, and every redeploy of a busy function).
    /// </summary>
    public void Warm()
    {
        lock (_gate)
        {
            if (Retiring || _workers.Count + _starting > 0 || !CanStartLocked())
            {
                return;
            }

            _starting++;
        }

        // Speculative: on a full node it waits for the first call (which may evict) rather than evicting now.
        _ = StartWorkerAsync(evict: false);
    }

    /// <summary>Stops accepting work; idle workers stop now, busy ones when their last invocation ends.</summary>
    public void Retire()
    {
        List<WorkerProcess> idle;
        lock (_gate)
        {
            Retiring = true;
            idle = _workers.Where(w => w.InFlight == 0).ToList();
            foreach (var worker in idle)
            {
                _workers.Remove(worker);
            }

            // Waiting callers are not failed: the gateway sends them on to the current version.
            foreach (var waiter in _waiters)
            {
                waiter.TrySetException(new PoolRetiredException(function.Name));
            }

            _waiters.Clear();
        }

        foreach (var worker in idle)
        {
            _ = supervisor.StopWorkerAsync(worker, "replaced");
        }
    }

    /// <summary>
    /// Removes and returns workers idle since before <paramref name="cutoff"/>, and those beyond the pool's last
    /// idle since before <paramref name="extraCutoff"/> (the least recently used first): extras retire sooner.
    /// </summary>
    public List<WorkerProcess> TakeIdle(DateTimeOffset cutoff, DateTimeOffset extraCutoff)
    {
        lock (_gate)
        {
            var idle = new List<WorkerProcess>();
            var later = cutoff > extraCutoff ? cutoff : extraCutoff;
            var any = false;
            foreach (var worker in _workers)
            {
                any |= worker.InFlight == 0 && worker.LastReleased < later;
            }

            if (!any)
            {
                return idle; // most calls of the reaper: nothing idle long enough, so nothing sorted
            }

            foreach (var worker in _workers.Where(w => w.InFlight == 0).OrderBy(w => w.LastReleased).ToList())
            {
                if (worker.LastReleased < cutoff || (worker.LastReleased < extraCutoff && _workers.Count > 1))
                {
                    _workers.Remove(worker);
                    _blocked.Remove(worker);
                    idle.Add(worker);
                }
            }

            return idle;
        }
    }

    /// <summary>The idle worker released longest ago, for the node's eviction when it is full; null when none is idle.</summary>
    public WorkerProcess? LeastRecentlyUsedIdle()
    {
        lock (_gate)
        {
            return _workers.Where(w => w.InFlight == 0 && !_blocked.Contains(w)).MinBy(w => w.LastReleased);
        }
    }

    /// <summary>Removes <paramref name="worker"/> if it is still here and still idle: the caller stops it.</summary>
    public bool TryTakeIdle(WorkerProcess worker)
    {
        lock (_gate)
        {
            // A worker reserved between the choice and now stays: its slot is taken under this lock.
            if (worker.InFlight != 0 || !_workers.Remove(worker))
            {
                return false;
            }

            _blocked.Remove(worker);
            return true;
        }
    }

    /// <summary>
    /// Live workers taking new work and the invocations in flight on them, for the scaler; no workers when there are
    /// no more invocations than workers (the scaler grows none of those).
    /// </summary>
    public (List<WorkerProcess> Workers, int InFlight) Load()
    {
        lock (_gate)
        {
            // Counted before listing: read every second for every pool, and most pools of a full node are idle.
            var (count, inFlight) = (0, 0);
            foreach (var worker in _workers)
            {
                if (worker.IsAlive && !_blocked.Contains(worker))
                {
                    count++;
                    inFlight += worker.InFlight;
                }
            }

            return (inFlight <= count ? [] : _workers.Where(w => w.IsAlive && !_blocked.Contains(w)).ToList(), inFlight);
        }
    }

    /// <summary>Starts one more worker for a hot function (<see cref="Scaling.WorkerScaler"/>) if the limits allow and none is starting.</summary>
    public bool TryScaleOut()
    {
        lock (_gate)
        {
            if (Retiring || _starting > 0 || !CanStartLocked())
            {
                return false;
            }

            _starting++;
        }

        // Never at another function's expense: a node full of workers does not grow a function that has one.
        _ = StartWorkerAsync(evict: false);
        return true;
    }

    public List<WorkerProcess> TakeAll()
    {
        lock (_gate)
        {
            var all = _workers.ToList();
            _workers.Clear();
            _blocked.Clear();
            return all;
        }
    }

    public IReadOnlyList<WorkerProcess> Snapshot()
    {
        lock (_gate)
        {
            return [.. _workers];
        }
    }

    /// <summary>Whether <see cref="ProbeAsync"/> has a worker to ask: one with work on it, or one found blocked.</summary>
    public bool HasProbeTargets
    {
        get
        {
            lock (_gate)
            {
                foreach (var worker in _workers)
                {
                    if (worker.InFlight > 0 || _blocked.Contains(worker))
                    {
                        return true;
                    }
                }

                return false;
            }
        }
    }

    /// <summary>
    /// Asks every busy worker whether its event loop answers within <paramref name="timeout"/>. One that does not
    /// is blocked (a busy loop, or synchronous work that long): it takes no new work, and when callers are
    /// queued another worker starts now. One that answers again takes work again.
    /// </summary>
    /// <returns>Workers newly found blocked, for the log.</returns>
    public async Task<List<WorkerProcess>> ProbeAsync(TimeSpan timeout)
    {
        List<WorkerProcess> targets;
        lock (_gate)
        {
            // Only workers with work on them (and blocked ones, to see them recover): an idle worker has no
            // invocation to block it, and on a loaded machine its probe would only add false alarms.
            targets = _workers.Where(w => w.IsAlive && (w.InFlight > 0 || _blocked.Contains(w)) && _probing.Add(w)).ToList();
        }

        var answers = await Task.WhenAll(targets.Select(async worker =>
        {
            try
            {
                return (Worker: worker, Responsive: (bool?)await worker.IsResponsiveAsync(timeout));
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
            {
                return (Worker: worker, Responsive: (bool?)null); // stopped meanwhile
            }
        }));

        var blocked = new List<WorkerProcess>();
        var start = false;
        lock (_gate)
        {
            foreach (var (worker, responsive) in answers)
            {
                _probing.Remove(worker);
                if (responsive is null || !_workers.Contains(worker) || !worker.IsAlive)
                {
                    continue;
                }

                if (responsive == false && _blocked.Add(worker))
                {
                    blocked.Add(worker);
                }
                else if (responsive == true && _blocked.Remove(worker))
                {
                    HandOutLocked(worker);
                }
            }

            // Queued callers get a new worker now; a new caller starts one itself when none is free.
            if (blocked.Count > 0 && !Retiring && _waiters.Count > 0 && _starting == 0 && CanStartLocked())
            {
                _starting++;
                start = true;
            }
        }

        if (start)
        {
            _ = StartWorkerAsync(evict: true);
        }

        return blocked;
    }

    /// <summary>
    /// Room for another process: blocked workers do not count against the limit (they are killed at their
    /// invocation's deadline), but at most as many of them as the limit, so a caller who blocks worker
    /// after worker cannot make the pool grow without bound.
    /// </summary>
    private bool CanStartLocked() => _inspected
        ? _workers.Count + _starting == 0
        : _workers.Count - _blocked.Count + _starting < options.MaxWorkersPerFunction &&
          _workers.Count + _starting < 2 * options.MaxWorkersPerFunction;

    /// <summary>Gives the worker's free slots to the longest waiters.</summary>
    private void HandOutLocked(WorkerProcess worker)
    {
        while (_waiters.First is { } first && worker.TryReserve(options.Concurrency))
        {
            _waiters.RemoveFirst();
            if (!first.Value.TrySetResult(new WorkerLease(worker, this)))
            {
                worker.Release(time.GetUtcNow());
            }
        }
    }

    private WorkerLease? TryReserveLocked()
    {
        WorkerProcess? best = null;
        foreach (var worker in _workers)
        {
            if (worker.IsAlive && !_blocked.Contains(worker) && worker.InFlight < options.Concurrency && (best is null || worker.InFlight < best.InFlight))
            {
                best = worker;
            }
        }

        return best is not null && best.TryReserve(options.Concurrency) ? new WorkerLease(best, this) : null;
    }

    private async Task StartWorkerAsync(bool evict)
    {
        WorkerProcess worker;
        try
        {
            worker = await supervisor.CreateWorkerAsync(function, evict);
        }
        catch (NoCapacityException ex)
        {
            // The node is full: not a fault of this version, so no boot back-off. Callers without any worker
            // get the answer now; with one, they keep waiting for its slots.
            lock (_gate)
            {
                _starting--;
                if (_workers.Count == 0 && _starting == 0)
                {
                    foreach (var waiter in _waiters)
                    {
                        waiter.TrySetException(new NoCapacityException(ex.Message));
                    }

                    _waiters.Clear();
                }
            }

            return;
        }
        catch (Exception ex)
        {
            var message = ex is WorkerBootException ? ex.Message : "the worker could not be started: " + ex.Message;
            lock (_gate)
            {
                _starting--;
                _bootFailure = (time.GetUtcNow(), message);
                foreach (var waiter in _waiters)
                {
                    waiter.TrySetException(new WorkerBootException(message));
                }

                _waiters.Clear();
            }

            return;
        }

        var stopNow = false;
        lock (_gate)
        {
            _starting--;
            _bootFailure = null;
            if (Retiring)
            {
                stopNow = true;
            }
            else
            {
                _workers.Add(worker);
                HandOutLocked(worker);

                // More waiters than one worker takes (and those still starting will): start another while allowed.
                if (_waiters.Count > _starting * options.Concurrency && CanStartLocked())
                {
                    _starting++;
                    _ = StartWorkerAsync(evict: true);
                }
            }
        }

        if (stopNow)
        {
            await supervisor.StopWorkerAsync(worker, "replaced");
            return;
        }

        _ = worker.Exited.ContinueWith(_ => OnWorkerExited(worker), TaskScheduler.Default);
    }

    private void OnWorkerExited(WorkerProcess worker)
    {
        var replace = false;
        lock (_gate)
        {
            _workers.Remove(worker);
            _blocked.Remove(worker);
            if (!Retiring && _waiters.Count > 0 && CanStartLocked())
            {
                _starting++;
                replace = true;
            }
        }

        _ = worker.DisposeAsync().AsTask();
        if (replace)
        {
            _ = StartWorkerAsync(evict: true);
        }
    }
}
