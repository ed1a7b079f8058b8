namespace Isola.Host.Tests.Infrastructure;

/// <summary>
/// Tests that keep both cores busy on purpose (CPU-bound functions that make the pool grow) run alone, after
/// the others: run beside them they starve tests whose functions have a one-second deadline.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CpuBoundCollection
{
    public const string Name = "CPU-bound";
}
