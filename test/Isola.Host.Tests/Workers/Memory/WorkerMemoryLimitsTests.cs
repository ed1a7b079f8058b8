using System.Diagnostics;
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

    [Fact]
    public async Task A_wrapper_that_forked_before_the_attach_has_its_child_moved_in_too()
    {
        // As `unshare --fork deno …` would: the process the host started is not the one that allocates.
        using var limits = new WorkerMemoryLimits(new WorkerOptions { MemoryEnforcement = WorkerMemoryMode.Cgroup }, TimeProvider.System, NullLogger.Instance);
        using var wrapper = Process.Start(new ProcessStartInfo("sh", ["-c", "sleep 30 & wait"]))!;
        try
        {
            var child = await FirstChildAsync(wrapper.Id);
            var guard = limits.Create("w0000000002", 64);
            guard.Attach(wrapper.Id, () => { });
            var nodeGroup = limits.Description[(limits.Description.IndexOf('(', StringComparison.Ordinal) + 1)..^1];
            var members = File.ReadAllLines(Path.Combine(nodeGroup, "w0000000002", "cgroup.procs")).Select(int.Parse).ToList();
            Assert.Contains(wrapper.Id, members);
            Assert.Contains(child, members);
            wrapper.Kill(entireProcessTree: true);
            await wrapper.WaitForExitAsync();
            guard.Dispose(); // once empty, the group goes
            Assert.False(Directory.Exists(Path.Combine(nodeGroup, "w0000000002")));
        }
        finally
        {
            wrapper.Kill(entireProcessTree: true);
        }
    }

    private static async Task<int> FirstChildAsync(int pid)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var children = File.ReadAllText($"/proc/{pid}/task/{pid}/children").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (children.Length > 0)
            {
                return int.Parse(children[0]);
            }

            await Task.Delay(25);
        }

        throw new Xunit.Sdk.XunitException($"process {pid} never forked");
    }

    private static string OwnMemoryGroup()
    {
        var path = File.ReadLines("/proc/self/cgroup").Select(line => line.Split(':', 3)).First(parts => parts[1].Split(',').Contains("memory"))[2];
        var group = Path.Join("/sys/fs/cgroup/memory", path);
        return Directory.Exists(group) ? group : "/sys/fs/cgroup/memory";
    }
}
