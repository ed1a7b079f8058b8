using Isola.Host.Workers.Memory;

namespace Isola.Host.Tests.Gateway.Memory;

/// <summary>A node that holds workers with a memory cgroup each (fails to start where cgroups are not writable).</summary>
public sealed class CgroupMemoryLimitFixture : MemoryLimitFixture
{
    internal override WorkerMemoryMode Mode => WorkerMemoryMode.Cgroup;

    internal override long OvershootBytes => 0;
}
