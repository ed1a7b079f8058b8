namespace Isola.Host.Workers.Memory;

/// <summary>
/// Holds one worker process (with anything it forks) to its memory limit and reports its real peak.
/// Created before the process starts, attached to it right after, disposed once it has exited.
/// </summary>
internal interface IWorkerMemoryGuard : IDisposable
{
    /// <summary>Puts the started process under the limit; <paramref name="onLimit"/> runs when the guard itself must kill it.</summary>
    void Attach(int pid, Action onLimit);

    /// <summary>The process's peak memory so far (the last figure once disposed); null when it cannot be read.</summary>
    long? ReadPeakBytes();

    /// <summary>Whether the process was killed for going over the limit (by the kernel or by the guard).</summary>
    bool LimitReached { get; }
}
