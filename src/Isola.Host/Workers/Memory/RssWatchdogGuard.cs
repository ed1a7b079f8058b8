namespace Isola.Host.Workers.Memory;

/// <summary>
/// Where memory cgroups cannot be created (not root, most Kubernetes pods): samples the resident
/// memory of the worker's process tree every interval and kills it once over the limit. What the
/// worker allocates between two samples can overshoot; cgroups have no such gap.
/// </summary>
internal sealed class RssWatchdogGuard(long limitBytes, TimeSpan interval, TimeProvider time) : IWorkerMemoryGuard
{
    private readonly Lock _gate = new();
    private List<int> _tree = [];
    private ITimer? _timer;
    private Action? _onLimit;
    private long _peak;
    private int _sampling;
    private volatile bool _limitReached;
    private bool _disposed;

    public bool LimitReached => _limitReached;

    public void Attach(int pid, Action onLimit)
    {
        _onLimit = onLimit;
        _tree = [pid];
        _timer = time.CreateTimer(_ => Sample(pid), null, TimeSpan.Zero, interval);
    }

    public long? ReadPeakBytes()
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _peak = Math.Max(_peak, SumOfTree(_tree).Peak);
            }

            return _peak > 0 ? _peak : null;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _timer?.Dispose();
    }

    private void Sample(int pid)
    {
        // A slow read on a loaded machine must not stack samples up.
        if (Interlocked.Exchange(ref _sampling, 1) == 1)
        {
            return;
        }

        try
        {
            var tree = ProcessTree.Of(pid);
            var (resident, peak) = SumOfTree(tree);
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _tree = tree;
                _peak = Math.Max(_peak, peak);
            }

            if (resident > limitBytes && !_limitReached)
            {
                _limitReached = true;
                _timer?.Dispose();
                _onLimit?.Invoke();
            }
        }
        finally
        {
            Volatile.Write(ref _sampling, 0);
        }
    }

    private static (long Resident, long Peak) SumOfTree(List<int> tree)
    {
        long resident = 0;
        long peak = 0;
        foreach (var member in tree)
        {
            if (ProcessTree.ReadMemory(member) is { } memory)
            {
                resident += memory.Resident;
                peak += memory.Peak;
            }
        }

        return (resident, peak);
    }
}
