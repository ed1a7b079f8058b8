using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Hosting;

/// <summary><c>isola serve</c> says at start how workers' real memory is bounded (feature S1), and refuses a mode it does not know.</summary>
public sealed class MemoryLimitStartupTests
{
    [Theory]
    // As root with a writable /sys/fs/cgroup/memory (these machines), auto picks cgroups.
    [InlineData("auto", "Worker memory limits: cgroup v1 (/sys/fs/cgroup/memory")]
    [InlineData("watchdog", "Worker memory limits: RSS watchdog every 50 ms")]
    public async Task Serve_names_the_enforcement_in_force_in_one_start_up_line(string mode, string line)
    {
        using var scratch = TestEnvironment.Scratch("memmode");
        var dataDir = scratch.Path;
        await using var node = IsolaProcess.Start(dataDir, new Dictionary<string, string> { ["ISOLA_WORKER_MEMORY_LIMITS"] = mode });
        await node.WaitReadyAsync();
        // Log lines go through the console logger's queue and may trail the banner: read them once the node has exited.
        Assert.Equal(0, await node.TerminateAsync());
        Assert.Contains(line, node.Output);
    }

    [Fact]
    public async Task An_unknown_mode_stops_start_with_the_choices()
    {
        using var scratch = TestEnvironment.Scratch("memmode");
        var dataDir = scratch.Path;
        await using var node = IsolaProcess.Start(dataDir, new Dictionary<string, string> { ["ISOLA_WORKER_MEMORY_LIMITS"] = "kernel" });
        Assert.Equal(1, await node.WaitForExitAsync());
        Assert.Contains("ISOLA_WORKER_MEMORY_LIMITS=kernel is not one of auto, cgroup, watchdog", node.Output);
    }
}
