namespace Isola.Host.Workers;

/// <summary>Receives what workers print: console lines attributed to invocations (runtime/PROTOCOL.md, "Logs").</summary>
internal interface IWorkerOutput
{
    /// <param name="invocationId">The invocation the line belongs to; null for module top-level code and the runtime itself.</param>
    void OnLog(string workerId, string? invocationId, string level, string message, DateTimeOffset timestamp);
}
