using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Workers;
using Isola.Host.Workers.Memory;

namespace Isola.Host.Api;

/// <summary>
/// <c>GET /v1/workers</c>: this node's function workers, with the version each serves, its invocations in flight
/// and its memory, so an operator sees how the pool scaled (decision 029). Admin only: it spans every app.
/// </summary>
internal static class WorkerEndpoints
{
    public static void MapWorkerEndpoints(this IEndpointRouteBuilder routes) =>
        routes.MapGet("/v1/workers", (WorkerSupervisor supervisor) =>
        {
            var workers = supervisor.AllWorkers()
                .OrderBy(w => w.Function.AppId, StringComparer.Ordinal).ThenBy(w => w.Function.Name, StringComparer.Ordinal).ThenBy(w => w.Function.Version)
                .Select(w => Render(w.Function.AppId, w.Function.Name, w.Function.Version, w.Worker))
                .ToList();
            return Results.Json(new JsonObject
            {
                ["workers"] = new JsonArray([.. workers]),
                ["count"] = workers.Count,
                ["max"] = supervisor.Options.MaxWorkers,
                ["maxPerFunction"] = supervisor.Options.MaxWorkersPerFunction,
                ["scaledOut"] = supervisor.WorkersScaledOut,
                ["evicted"] = supervisor.WorkersEvicted,
            });
        }).RequirePermission(ApiKey.AdminPermission);

    private static JsonObject Render(string app, string function, int version, WorkerProcess worker)
    {
        // The process and its descendants: a sandbox wrapper's child is the Deno process.
        long? resident = null;
        foreach (var pid in ProcessTree.Of(worker.Pid))
        {
            if (ProcessTree.ReadMemory(pid) is { } memory)
            {
                resident = (resident ?? 0) + memory.Resident;
            }
        }

        return new JsonObject
        {
            ["id"] = worker.Id,
            ["app"] = app,
            ["function"] = function,
            ["version"] = version,
            ["pid"] = worker.Pid,
            ["inFlight"] = worker.InFlight,
            ["rssBytes"] = resident,
            ["lastReleasedAt"] = worker.LastReleased == default ? null : worker.LastReleased,
        };
    }
}
