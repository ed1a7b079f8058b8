using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers.Memory;

namespace Isola.Host.Tests.Gateway.Memory;

/// <summary>A node whose workers' memory is held by one enforcement mode; functions are deployed per test.</summary>
public abstract class MemoryLimitFixture : IAsyncLifetime
{
    internal abstract WorkerMemoryMode Mode { get; }

    /// <summary>How far past the process limit a recorded peak may go: none for cgroups, one sampling interval's allocation for the watchdog.</summary>
    internal abstract long OvershootBytes { get; }

    internal TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await TestHost.StartAsync(options => options with
    {
        Workers = options.Workers with { MemoryEnforcement = Mode },
    });

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
