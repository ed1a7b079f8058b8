namespace Isola.Host.Workers.Scaling;

/// <summary>
/// Decides, once per <see cref="WorkerOptions.ScaleInterval"/>, which functions get another worker (decision 029):
/// one whose every worker used at least <see cref="WorkerOptions.ScaleOutCpuPercent"/> of a core, with more
/// invocations in flight than workers, for two intervals in a row, while the machine had a free core's share
/// (<see cref="WorkerOptions.ScaleOutFreeCpuPercent"/>). A worker is single-threaded: one near a full core with
/// work queued on its event loop is the only case a second process serves faster, and only with a core to run on.
/// </summary>
internal sealed class WorkerScaler(WorkerOptions options, TimeProvider time)
{
    // Only workers of pools with demand are read; one missing from a round starts over from a fresh reading.
    private Dictionary<WorkerProcess, (long Ticks, long At)> _readings = [];
    private Dictionary<WorkerPool, int> _hotRounds = [];
    private (long Idle, long Total)? _machine;

    /// <summary>One round: reads the CPU time of the workers of pools with demand and returns the pools to grow, with what decided it.</summary>
    public List<ScaleOut> Check(IEnumerable<WorkerPool> pools)
    {
        var now = time.GetTimestamp();
        var freeCores = FreeCores();
        var readings = new Dictionary<WorkerProcess, (long Ticks, long At)>();
        var hotRounds = new Dictionary<WorkerPool, int>();
        var grow = new List<ScaleOut>();
        foreach (var pool in pools)
        {
            var (workers, inFlight) = pool.Load();
            if (workers.Count == 0 || inFlight <= workers.Count)
            {
                continue; // at most one invocation per worker: another process would not run any of them sooner
            }

            var slowest = double.MaxValue;
            foreach (var worker in workers)
            {
                if (CpuTime.OfProcessTree(worker.Pid) is not { } ticks)
                {
                    slowest = 0;
                    continue;
                }

                readings[worker] = (ticks, now);
                slowest = _readings.TryGetValue(worker, out var last)
                    ? Math.Min(slowest, (ticks - last.Ticks) / CpuTime.TicksPerSecond / time.GetElapsedTime(last.At, now).TotalSeconds)
                    : 0;
            }

            if (slowest * 100 < options.ScaleOutCpuPercent)
            {
                continue;
            }

            var rounds = _hotRounds.GetValueOrDefault(pool) + 1;
            if (rounds < 2)
            {
                hotRounds[pool] = rounds;
                continue;
            }

            // Each new worker may take a core: the next pool in this round only grows with what is left.
            if (freeCores is { } free && free * 100 < options.ScaleOutFreeCpuPercent)
            {
                hotRounds[pool] = rounds;
                continue;
            }

            freeCores -= 1;
            grow.Add(new ScaleOut(pool, workers.Count, inFlight, slowest));
        }

        _readings = readings;
        _hotRounds = hotRounds;
        return grow;
    }

    /// <summary>Cores idle since the last round, from /proc/stat; null on the first round or where it cannot be read.</summary>
    private double? FreeCores()
    {
        if (CpuTime.OfMachine() is not { } machine)
        {
            return null;
        }

        var last = _machine;
        _machine = (machine.Idle, machine.Total);
        return last is { } before && machine.Total > before.Total
            ? (double)(machine.Idle - before.Idle) / (machine.Total - before.Total) * machine.Cpus
            : null;
    }
}
