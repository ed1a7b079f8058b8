namespace Isola.Host.Workers;

/// <summary>Receives what workers print: console lines attributed to invocations (runtime/PROTOCOL.md, "Logs").</summary>
internal interface IWorkerOutput
{
    /// <param name="invocationId">The invocation the line belongs to; null for module top-level code and the runtime itself.</param>
    void OnLog(string workerId, string? invocationId, string level, string message, DateTimeOffset timestamp);

    /// <summary>The worker is about to load <paramref name="function"/>: its lines from now on are that function's.</summary>
    void OnWorkerLoading(string workerId, WorkerFunctionInfo function)
    {
    }

    /// <summary>The worker's process has ended; it prints nothing more.</summary>
    void OnWorkerExited(string workerId)
    {
    }
}
