using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Isola.Host.Functions;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// Which worker a request lands on when one misbehaves or a version changes: a blocked worker stops
/// taking requests, and a deploy, update or rollback never fails a call.
/// </summary>
public sealed class PoolRoutingTests(ITestOutputHelper output)
{
    private static readonly string Limits = TestEnvironment.Fixture("gateway/limits/index.ts");

    [Fact]
    public async Task A_busy_loop_fails_only_the_calls_already_on_its_worker_and_later_ones_are_served_elsewhere()
    {
        const int concurrency = 100;
        await using var host = await TestHost.StartAsync(o => o with { Workers = o.Workers with { Concurrency = concurrency, MaxWorkersPerFunction = 2 } });
        var id = await DeployAsync(host, "spinner", timeoutMs: 4000);
        await WarmAsync(host, "spinner");
        var supervisor = Supervisor(host);
        var blocked = Assert.Single(supervisor.WorkersOf(id));

        // Public traffic arrives on its own schedule, whatever happens to earlier calls: one call every
        // 50 ms, at most 300, until the busy call has its answer.
        var attackAnswered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var phase = 0; // 0 before the busy call, 1 after it was sent, 2 once another worker serves while the blocked one lives
        var calls = new List<Task<(HttpStatusCode Status, int Phase)>>();
        var traffic = Task.Run(async () =>
        {
            for (var i = 0; i < 300 && !attackAnswered.Task.IsCompleted; i++)
            {
                var at = Volatile.Read(ref phase);
                lock (calls)
                {
                    calls.Add(Task.Run(async () => ((await host.Caller.GetAsync("/v1/default/fn/spinner/")).StatusCode, at)));
                }

                await Task.Delay(50);
            }
        });
        await WaitUntilAsync(() => calls.Count >= 20);

        Volatile.Write(ref phase, 1);
        var attack = host.Caller.GetAsync("/v1/default/fn/spinner/busy?ms=60000");
        var watcher = Task.Run(async () =>
        {
            while (!attack.IsCompleted)
            {
                if (blocked.IsAlive && supervisor.WorkersOf(id).Any(w => w != blocked && w.IsAlive))
                {
                    Volatile.Write(ref phase, 2);
                    return;
                }

                await Task.Delay(10);
            }
        });
        var attackResponse = await attack;
        attackAnswered.SetResult();
        await traffic;
        await watcher;
        var results = await Task.WhenAll(calls);

        await attackResponse.ShouldFailAsync(504, "FUNCTION_TIMEOUT");
        Assert.Equal(WorkerExitKind.KilledUnresponsive, (await blocked.Exited.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        var sentDuring = results.Count(r => r.Phase > 0);
        var failed = results.Where(r => r.Status != HttpStatusCode.OK).ToList();
        var afterDetection = results.Where(r => r.Phase == 2).ToList();
        output.WriteLine($"bystander calls: {results.Length}, sent while the busy loop ran: {sentDuring}, failed: {failed.Count} " +
            $"({string.Join(", ", failed.GroupBy(f => (int)f.Status).Select(g => $"{g.Key}×{g.Count()}"))}); " +
            $"sent after another worker took over: {afterDetection.Count}, of them failed: {afterDetection.Count(r => r.Status != HttpStatusCode.OK)}");

        // Before the takeover, calls routed to the blocked worker fail with it (504, or 502 once it is killed);
        // from then on every call is served by another worker. Without the probe, a blocked worker took new
        // calls until all its slots were full, and every one of them failed.
        Assert.True(failed.Count < concurrency / 2, $"{failed.Count} bystanders failed");
        Assert.True(afterDetection.Count >= 5, $"only {afterDetection.Count} calls were sent after another worker took over");
        Assert.All(afterDetection, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.All(failed, f => Assert.Contains(f.Status, new[] { HttpStatusCode.GatewayTimeout, HttpStatusCode.BadGateway }));
    }

    [Fact]
    public async Task Updates_and_rollbacks_under_load_fail_no_call()
    {
        const int clients = 8;
        // Few slots, so callers queue at every moment and each switch finds some waiting.
        await using var host = await TestHost.StartAsync(o => o with { Workers = o.Workers with { Concurrency = 2, MaxWorkersPerFunction = 2 } });
        await (await host.DeployAsync(new { name = "rolling", code = Code(1), timeoutMs = 20000 })).ShouldSucceedAsync(201);
        await WarmAsync(host, "rolling");

        var stop = new CancellationTokenSource();
        var calls = 0;
        var failures = new ConcurrentQueue<string>();
        var versionsSeen = new ConcurrentDictionary<string, int>();
        var load = Enumerable.Range(0, clients).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 600 && !stop.IsCancellationRequested; i++)
            {
                HttpResponseMessage response;
                string body;
                try
                {
                    response = await host.Caller.GetAsync("/v1/default/fn/rolling/");
                    body = await response.Content.ReadAsStringAsync();
                }
                catch (HttpRequestException ex)
                {
                    failures.Enqueue("connection failed: " + ex.Message);
                    continue;
                }
                finally
                {
                    Interlocked.Increment(ref calls);
                }

                if (response.IsSuccessStatusCode)
                {
                    versionsSeen.AddOrUpdate(body, 1, (_, n) => n + 1);
                }
                else
                {
                    failures.Enqueue($"{(int)response.StatusCode} {body}");
                }
            }
        })).ToList();

        // Each switch waits for traffic to flow first, so every switch happens under load.
        var changes = new Func<Task>[]
        {
            () => Update(2), () => Update(3), () => Rollback(1), () => Update(4), () => Rollback(3), () => Update(5), () => Rollback(2),
        };
        foreach (var change in changes)
        {
            var before = Volatile.Read(ref calls);
            await WaitUntilAsync(() => Volatile.Read(ref calls) >= before + 60 || load.All(t => t.IsCompleted));
            await change();
        }

        var last = Volatile.Read(ref calls);
        await WaitUntilAsync(() => Volatile.Read(ref calls) >= last + 60 || load.All(t => t.IsCompleted));
        await stop.CancelAsync();
        await Task.WhenAll(load);

        output.WriteLine(string.Join("\n", failures.Take(3)));
        output.WriteLine($"calls: {calls}, non-2xx: {failures.Count}; served: {string.Join(", ", versionsSeen.OrderBy(v => v.Key).Select(v => $"{v.Key}×{v.Value}"))}");
        Assert.Empty(failures);
        Assert.True(versionsSeen.Count >= 4, "the load did not span the switches");

        async Task Update(int n) =>
            await (await host.Client.PutAsJsonAsync("/v1/default/functions/rolling", new { code = Code(n) })).ShouldSucceedAsync();

        async Task Rollback(int version) =>
            await (await host.Client.PostAsJsonAsync("/v1/default/functions/rolling/rollback", new { version })).ShouldSucceedAsync();

        static string Code(int n) => $"export default async () => {{ await new Promise((r) => setTimeout(r, 20)); return new Response('v{n}') }}";
    }

    [Fact]
    public async Task A_crash_while_calls_wait_and_a_late_change_notice_do_not_turn_waiting_calls_into_503()
    {
        await using var host = await TestHost.StartAsync(o => o with { Workers = o.Workers with { Concurrency = 1, MaxWorkersPerFunction = 1 } });
        var id = await DeployAsync(host, "crashy", timeoutMs: 20000);
        await WarmAsync(host, "crashy");
        var supervisor = Supervisor(host);
        var worker = Assert.Single(supervisor.WorkersOf(id));

        var holder = host.Caller.GetAsync("/v1/default/fn/crashy/sleep?ms=10000");
        await WaitUntilAsync(() => worker.InFlight == 1);
        var waiting = host.Caller.GetAsync("/v1/default/fn/crashy/");
        await WaitUntilAsync(() => supervisor.WaitingFor(id) == 1);

        // The worker crashes with a call on it and one queued; the deploy's NOTIFY, delivered late on
        // a loaded machine, arrives while the queued call waits for the replacement.
        System.Diagnostics.Process.GetProcessById(worker.Pid).Kill();
        host.Server.Services.GetRequiredService<DeployedFunctionCache>().Invalidate("default", "crashy");

        await (await holder).ShouldFailAsync(502, "WORKER_CRASHED");
        await (await waiting).EnsureSuccessOrExplainAsync();
    }

    private static WorkerSupervisor Supervisor(TestHost host) => host.Server.Services.GetRequiredService<WorkerSupervisor>();

    private static async Task<Guid> DeployAsync(TestHost host, string name, int timeoutMs)
    {
        var created = await (await host.DeployAsync(new { name, code = Limits, timeoutMs })).ShouldSucceedAsync(201);
        return Guid.Parse(created.GetProperty("id").GetString()!);
    }

    /// <summary>The first call after a deploy, retried: on a loaded machine the old code could lose it to a late change notice.</summary>
    private static async Task WarmAsync(TestHost host, string name)
    {
        var status = HttpStatusCode.ServiceUnavailable;
        for (var i = 0; i < 5 && status != HttpStatusCode.OK; i++)
        {
            status = (await host.Caller.GetAsync($"/v1/default/fn/{name}/")).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, status);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true within 30 s");
            await Task.Delay(10);
        }
    }
}
