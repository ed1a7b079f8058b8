namespace Isola.Host.Tests.Gateway.Memory;

/// <summary>The memory-limit suite under the RSS watchdog, the fallback where cgroups are not writable.</summary>
public sealed class WatchdogMemoryLimitTests(WatchdogMemoryLimitFixture fixture)
    : MemoryLimitTests<WatchdogMemoryLimitFixture>(fixture), IClassFixture<WatchdogMemoryLimitFixture>;
