namespace Isola.Host.Workers;

/// <summary>How many invocations one worker holds, lock-free, and when its last one ended (for idle reaping).</summary>
internal sealed class WorkerSlots
{
    private int _inFlight;

    public int InFlight => Volatile.Read(ref _inFlight);

    public DateTimeOffset LastReleased { get; private set; }

    /// <summary>Takes a slot unless <paramref name="concurrency"/> are taken.</summary>
    public bool TryReserve(int concurrency)
    {
        while (true)
        {
            var current = Volatile.Read(ref _inFlight);
            if (current >= concurrency)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Release(DateTimeOffset now)
    {
        LastReleased = now;
        Interlocked.Decrement(ref _inFlight);
    }
}
