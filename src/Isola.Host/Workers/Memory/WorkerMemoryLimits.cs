using System.Globalization;
using Isola.Host.Observability;

namespace Isola.Host.Workers.Memory;

/// <summary>
/// Chooses how this node holds each worker's real memory to <c>memoryLimitMb</c> plus the runtime
/// allowance (docs/decisions/006) and makes the guard for each worker. In cgroup mode the node owns
/// one group, <c>isola-&lt;pid&gt;-&lt;random&gt;</c>, under its own memory cgroup (so workers stay inside
/// whatever limit the node itself runs under), with one child group per worker.
/// </summary>
internal sealed partial class WorkerMemoryLimits : IDisposable
{
    private const string MemoryHierarchy = "/sys/fs/cgroup/memory";
    private readonly WorkerOptions _options;
    private readonly TimeProvider _time;
    private readonly string? _nodeGroup;

    public WorkerMemoryLimits(WorkerOptions options, TimeProvider time, ILogger logger)
    {
        _options = options;
        _time = time;
        if (options.MemoryEnforcement == WorkerMemoryMode.Watchdog)
        {
            Mode = WorkerMemoryMode.Watchdog;
            Description = $"RSS watchdog every {options.WatchdogInterval.TotalMilliseconds:0} ms (chosen by ISOLA_WORKER_MEMORY_LIMITS)";
            return;
        }

        try
        {
            _nodeGroup = CreateNodeGroup(logger);
            Mode = WorkerMemoryMode.Cgroup;
            Description = $"cgroup v1 ({_nodeGroup})";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            if (options.MemoryEnforcement == WorkerMemoryMode.Cgroup)
            {
                throw new Hosting.StartupException($"worker memory limits: cgroup v1 was asked for but is not usable here ({ex.Message}); "
                    + "run as root with a writable /sys/fs/cgroup/memory, or set ISOLA_WORKER_MEMORY_LIMITS=watchdog", ex);
            }

            Mode = WorkerMemoryMode.Watchdog;
            Description = $"RSS watchdog every {options.WatchdogInterval.TotalMilliseconds:0} ms (cgroup v1 memory controller not writable: {ex.Message})";
        }
    }

    /// <summary>The mode in force: <see cref="WorkerMemoryMode.Cgroup"/> or <see cref="WorkerMemoryMode.Watchdog"/>, never Auto.</summary>
    public WorkerMemoryMode Mode { get; }

    /// <summary>One line for the start-up log and the docs' wording: which enforcement, and where.</summary>
    public string Description { get; }

    /// <summary>The real memory a worker of a function with <paramref name="memoryLimitMb"/> may hold.</summary>
    public long ProcessLimitBytes(int memoryLimitMb) => (memoryLimitMb + (long)_options.RuntimeAllowanceMb) * 1024 * 1024;

    /// <summary>A guard for a worker about to start; in cgroup mode its group already exists with its limit.</summary>
    public IWorkerMemoryGuard Create(string workerId, int memoryLimitMb) => _nodeGroup is not null
        ? CgroupMemoryGuard.Create(Path.Combine(_nodeGroup, workerId), ProcessLimitBytes(memoryLimitMb))
        : new RssWatchdogGuard(ProcessLimitBytes(memoryLimitMb), _options.WatchdogInterval, _time);

    /// <summary>Removes the node's group; the worker groups in it are gone once their workers are.</summary>
    public void Dispose()
    {
        if (_nodeGroup is not null)
        {
            RemoveGroup(_nodeGroup);
        }
    }

    private static string CreateNodeGroup(ILogger logger)
    {
        if (!Directory.Exists(MemoryHierarchy))
        {
            throw new IOException($"{MemoryHierarchy} does not exist (cgroup v2 only, or not Linux)");
        }

        var parent = OwnGroup();
        RemoveStaleGroups(parent, logger);
        var group = Path.Combine(parent, $"isola-{Environment.ProcessId}-{Guid.NewGuid():N}"[..32]);
        Directory.CreateDirectory(group);
        if (!File.Exists(Path.Combine(group, "memory.limit_in_bytes")))
        {
            RemoveGroup(group);
            throw new IOException($"{group} is not a memory cgroup");
        }

        return group;
    }

    /// <summary>The node's own memory cgroup (from /proc/self/cgroup), or the hierarchy's root when it is not visible (a cgroup namespace).</summary>
    private static string OwnGroup()
    {
        foreach (var line in File.ReadLines("/proc/self/cgroup"))
        {
            var parts = line.Split(':', 3);
            if (parts.Length == 3 && parts[1].Split(',').Contains("memory"))
            {
                var candidate = Path.Join(MemoryHierarchy, parts[2]);
                return Directory.Exists(candidate) ? candidate : MemoryHierarchy;
            }
        }

        throw new IOException("this process is in no cgroup v1 memory hierarchy");
    }

    /// <summary>Groups of nodes that died without removing them (kill -9): their workers exit with their parent, leaving empty groups.</summary>
    private static void RemoveStaleGroups(string parent, ILogger logger)
    {
        foreach (var group in Directory.EnumerateDirectories(parent, "isola-*"))
        {
            var parts = Path.GetFileName(group).Split('-');
            if (parts.Length == 3 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}"))
            {
                if (RemoveGroup(group))
                {
                    LogRemovedStale(logger, group);
                }
            }
        }
    }

    private static bool RemoveGroup(string group)
    {
        try
        {
            foreach (var worker in Directory.EnumerateDirectories(group))
            {
                Directory.Delete(worker); // refused while a process is still inside: it is left for the next start
            }

            Directory.Delete(group);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = LogEvents.StaleMemoryCgroupRemoved, Level = LogLevel.Information, Message = "Removed the memory cgroup {Group} of a node that is gone")]
    private static partial void LogRemovedStale(ILogger logger, string group);
}
