using Isola.Host.Workers.Memory;

namespace Isola.Host.Tests.Gateway.Memory;

public sealed class CgroupMemoryLimitFixture : MemoryLimitFixture
{
    internal override WorkerMemoryMode Mode => WorkerMemoryMode.Cgroup;

    internal override long OvershootBytes => 0;
}
