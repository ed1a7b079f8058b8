namespace Isola.Host.Tests.Gateway.Memory;

/// <summary>The memory-limit suite with a memory cgroup per worker (this machine's default as root).</summary>
public sealed class CgroupMemoryLimitTests(CgroupMemoryLimitFixture fixture)
    : MemoryLimitTests<CgroupMemoryLimitFixture>(fixture), IClassFixture<CgroupMemoryLimitFixture>;
