using Isola.Host.Workers;
using Isola.Host.Workers.Memory;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isola.Host.Tests.Workers.Memory;

/// <summary>The node's memory cgroups: created with the limit, removed with the worker and the node, stale ones of dead nodes cleaned.</summary>
public sealed class WorkerMemoryLimitsTests
{
    private const long MB = 1024 * 1024;

    [Fact]
    public void A_worker_group_carries_the_limit_plus_the_allowance_and_goes_with_the_worker_and_the_node()
    {
        var limits = new WorkerMemoryLimits(new WorkerOptions { MemoryEnforcement = WorkerMemoryMode.Cgroup }, TimeProvider.System, NullLogger.Instance);
        Assert.Equal(WorkerMemoryMode.Cgroup, limits.Mode);
        var nodeGroup = limits.Description[(limits.Description.IndexOf('(', StringComparison.Ordinal) + 1)..^1];
        Assert.True(Directory.Exists(nodeGroup), nodeGroup);

        var guard = limits.Create("w0000000001", 64);
        var workerGroup = Path.Combine(nodeGroup, "w0000000001");
        Assert.Equal((64 + 64) * MB, long.Parse(File.ReadAllText(Path.Combine(workerGroup, "memory.limit_in_bytes")).Trim()));
        guard.Dispose();
        Assert.False(Directory.Exists(workerGroup));

        limits.Dispose();
        Assert.False(Directory.Exists(nodeGroup));
    }

    [Fact]
    public void At_start_the_groups_of_dead_nodes_are_removed_and_those_of_live_ones_kept()
    {
        var parent = OwnMemoryGroup();
        // pid_max is at most 4194304: no process can have this id.
        var dead = Path.Combine(parent, "isola-4999999-0123456789abcdef0123");
        var live = Path.Combine(parent, "isola-1-0123456789abcdef0123");
        Directory.CreateDirectory(Path.Combine(dead, "w0000000001"));
        Directory.CreateDirectory(Path.Combine(live, "w0000000001"));
        try
        {
            var limits = new WorkerMemoryLimits(new WorkerOptions { MemoryEnforcement = WorkerMemoryMode.Cgroup }, TimeProvider.System, NullLogger.Instance);
            limits.Dispose();
            Assert.False(Directory.Exists(dead));
            Assert.True(Directory.Exists(Path.Combine(live, "w0000000001")));
        }
        finally
        {
            Directory.Delete(Path.Combine(live, "w0000000001"));
            Directory.Delete(live);
        }
    }

    [Fact]
    public void The_watchdog_is_used_when_asked_for_and_says_so()
    {
        using var limits = new WorkerMemoryLimits(new WorkerOptions { MemoryEnforcement = WorkerMemoryMode.Watchdog }, TimeProvider.System, NullLogger.Instance);
        Assert.Equal(WorkerMemoryMode.Watchdog, limits.Mode);
        Assert.StartsWith("RSS watchdog every 50 ms", limits.Description);
        Assert.Equal((128 + 64) * MB, limits.ProcessLimitBytes(128));
    }

    private static string OwnMemoryGroup()
    {
        var path = File.ReadLines("/proc/self/cgroup").Select(line => line.Split(':', 3)).First(parts => parts[1].Split(',').Contains("memory"))[2];
        var group = Path.Join("/sys/fs/cgroup/memory", path);
        return Directory.Exists(group) ? group : "/sys/fs/cgroup/memory";
    }
}
