using System.Diagnostics.Metrics;
using Isola.Host.Functions;
using Isola.Host.Workers;

namespace Isola.Host.Observability;

/// <summary>
/// The node's counters on the <c>System.Diagnostics.Metrics</c> meter named <see cref="MeterName"/>, for
/// <c>dotnet-counters</c> today and a Prometheus exporter later. The counts stay where they are kept
/// (the supervisor, the recorder, the function cache) and are read only when a listener collects, so the hot
/// paths pay nothing for them. One meter per node: tests running several nodes in one process tell
/// them apart by <see cref="Meter"/>.
/// </summary>
internal sealed class IsolaMetrics
{
    public const string MeterName = "Isola";

    public IsolaMetrics(IMeterFactory meters, WorkerSupervisor supervisor, InvocationRecorder recorder, DeployedFunctionCache functions)
    {
        Meter = meters.Create(MeterName);
        Meter.CreateObservableCounter("isola.workers.started", () => supervisor.WorkersStarted, "{worker}",
            "Worker processes started since the node started, pre-started ones included");
        Meter.CreateObservableUpDownCounter("isola.workers.running", () => (long)supervisor.FunctionWorkers, "{worker}",
            "Function workers running or starting now, pre-started ones not counted (at most ISOLA_WORKER_MAX)");
        Meter.CreateObservableCounter("isola.workers.scaled_out", () => supervisor.WorkersScaledOut, "{worker}",
            "Workers started for a function whose workers all ran near a full core with invocations queued (decision 029)");
        Meter.CreateObservableCounter("isola.workers.evicted", () => supervisor.WorkersEvicted, "{worker}",
            "Idle workers stopped to make room for another function's on a node running ISOLA_WORKER_MAX workers");
        Meter.CreateObservableCounter("isola.functions.loaded", () => supervisor.FunctionsLoaded, "{function}",
            "Functions loaded into workers since the node started");
        Meter.CreateObservableCounter("isola.worker_slots.requested", () => supervisor.SlotsRequested, "{request}",
            "Calls that asked for a worker slot; a call refused at the gateway (auth, method, limits) never asks");
        Meter.CreateObservableCounter("isola.function_lookups", () => functions.DatabaseLookups, "{lookup}",
            "Function lookups by the gateway that went to the database; cached ones, misses included, do not");
        Meter.CreateObservableCounter("isola.invocation_records.dropped", () => recorder.DroppedRecords, "{record}",
            "Invocation records not stored: the write queue was full, or a database outage outlasted those kept in memory");
    }

    public Meter Meter { get; }
}
