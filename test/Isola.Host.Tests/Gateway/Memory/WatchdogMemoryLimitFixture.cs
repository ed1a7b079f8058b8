using Isola.Host.Workers.Memory;

namespace Isola.Host.Tests.Gateway.Memory;

/// <summary>A node that holds workers with the RSS watchdog, as where cgroups are not writable.</summary>
public sealed class WatchdogMemoryLimitFixture : MemoryLimitFixture
{
    internal override WorkerMemoryMode Mode => WorkerMemoryMode.Watchdog;

    // The fixture allocates 16 MB per event-loop turn; a loaded 2-core machine can delay a sample several intervals.
    internal override long OvershootBytes => 256L * 1024 * 1024;
}
