using Isola.Host.Functions;

namespace Isola.Host.Workers;

/// <summary>One reserved concurrency slot on a worker; disposing it gives the slot back to the pool.</summary>
internal sealed class WorkerLease(WorkerProcess worker, WorkerPool pool) : IDisposable
{
    private int _released;

    public WorkerProcess Worker { get; } = worker;

    /// <summary>The version this slot serves; after a switch it may be newer than the one the caller first resolved.</summary>
    public DeployedFunction Function => pool.Function;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            pool.Release(Worker);
        }
    }
}
