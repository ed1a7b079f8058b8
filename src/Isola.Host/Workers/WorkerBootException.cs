namespace Isola.Host.Workers;

/// <summary>A worker could not be started or the function could not be loaded into it (503 BOOT_ERROR).</summary>
internal sealed class WorkerBootException(string message) : Exception(message);
