namespace Isola.Host.Workers;

/// <summary>Why a worker process ended; decides the error in-flight invocations get.</summary>
internal enum WorkerExitKind
{
    /// <summary>Stopped by the supervisor (idle, replaced, host shutdown).</summary>
    Stopped,

    /// <summary>Killed because an invocation blocked its event loop past the deadline.</summary>
    KilledUnresponsive,

    /// <summary>V8 ran out of heap (memoryLimitMb).</summary>
    OutOfMemory,

    /// <summary>Anything else: a signal from outside, a runtime crash, Deno.exit.</summary>
    Crashed,
}

internal sealed record WorkerExit(WorkerExitKind Kind, int? ExitCode, string Detail);
