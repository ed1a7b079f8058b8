namespace Isola.Host.Workers.Scaling;

/// <summary>A pool that gets another worker, and what decided it (for the log).</summary>
internal sealed record ScaleOut(WorkerPool Pool, int Workers, int InFlight, double SlowestCpu);
