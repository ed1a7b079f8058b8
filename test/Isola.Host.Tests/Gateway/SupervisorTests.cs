using System.Net;
using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Gateway;

/// <summary>Worker pools: scale out and to zero, bounded queue, crash recovery, version switch-over.</summary>
public sealed class SupervisorTests
{
    private static readonly string Limits = TestEnvironment.Fixture("gateway/limits/index.ts");

    [Fact]
    public async Task Idle_workers_stop_after_the_idle_timeout_and_a_new_call_starts_one_again()
    {
        await using var host = await TestHost.StartAsync(o => o with { Workers = o.Workers with { IdleTimeout = TimeSpan.FromMilliseconds(400) } });
        var id = await DeployAsync(host, "idler");
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/idler/")).StatusCode);
        var supervisor = Supervisor(host);
        var worker = Assert.Single(supervisor.WorkersOf(id));
        var exit = await worker.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WorkerExitKind.Stopped, exit.Kind);
        Assert.Empty(supervisor.WorkersOf(id));
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/idler/")).StatusCode);
    }

    [Fact]
    public async Task When_every_slot_stays_busy_past_the_queue_wait_the_answer_is_503_NO_CAPACITY()
    {
        await using var host = await TestHost.StartAsync(o => o with
        {
            Workers = o.Workers with { Concurrency = 1, MaxWorkersPerFunction = 1, QueueWait = TimeSpan.FromMilliseconds(300) },
        });
        await DeployAsync(host, "narrow");
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/narrow/")).StatusCode);
        var slow = host.Caller.GetAsync("/v1/default/fn/narrow/sleep?ms=2000");
        await Task.Delay(200);
        var error = await (await host.Caller.GetAsync("/v1/default/fn/narrow/")).ShouldFailAsync(503, "NO_CAPACITY");
        Assert.Contains("busy", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await slow).StatusCode);

        // Within the wait, a queued request gets the slot as soon as it frees.
        var holder = host.Caller.GetAsync("/v1/default/fn/narrow/sleep?ms=100");
        await Task.Delay(30);
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/narrow/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await holder).StatusCode);
    }

    [Fact]
    public async Task Load_spreads_over_more_workers_up_to_the_limit()
    {
        await using var host = await TestHost.StartAsync(o => o with { Workers = o.Workers with { Concurrency = 2, MaxWorkersPerFunction = 3 } });
        var id = await DeployAsync(host, "wide");
        var calls = Enumerable.Range(0, 6).Select(_ => host.Caller.GetAsync("/v1/default/fn/wide/sleep?ms=400")).ToList();
        var responses = await Task.WhenAll(calls);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(3, Supervisor(host).WorkersOf(id).Count);
    }

    [Fact]
    public async Task Killing_a_worker_during_load_fails_only_its_in_flight_calls_and_the_host_keeps_serving()
    {
        await using var host = await TestHost.StartAsync(o => o with { Workers = o.Workers with { MaxWorkersPerFunction = 1 } });
        var id = await DeployAsync(host, "victim");
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/victim/")).StatusCode);
        var worker = Assert.Single(Supervisor(host).WorkersOf(id));

        var inFlight = Enumerable.Range(0, 5).Select(_ => host.Caller.GetAsync("/v1/default/fn/victim/sleep?ms=3000")).ToList();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (worker.InFlight < 5 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(5, worker.InFlight);
        System.Diagnostics.Process.GetProcessById(worker.Pid).Kill();
        foreach (var response in await Task.WhenAll(inFlight))
        {
            await response.ShouldFailAsync(502, "WORKER_CRASHED");
        }

        for (var i = 0; i < 5; i++)
        {
            await (await host.Caller.GetAsync("/v1/default/fn/victim/")).EnsureSuccessOrExplainAsync();
        }

        await (await host.Client.GetAsync("/health")).ShouldSucceedAsync();
    }

    [Fact]
    public async Task A_new_version_takes_new_requests_at_once_and_the_old_workers_drain_and_stop()
    {
        await using var host = await TestHost.StartAsync();
        var id = await DeployAsync(host, "versioned");
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/versioned/")).StatusCode);
        var old = Assert.Single(Supervisor(host).WorkersOf(id));
        var longCall = host.Caller.GetAsync("/v1/default/fn/versioned/sleep?ms=1000");
        await Task.Delay(200);

        await (await host.Client.PutAsJsonAsync("/v1/default/functions/versioned", new { code = "export default () => new Response('v2');" })).ShouldSucceedAsync();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string body;
        do
        {
            body = await (await host.Caller.GetAsync("/v1/default/fn/versioned/")).Content.ReadAsStringAsync();
        }
        while (body != "v2" && DateTime.UtcNow < deadline);
        Assert.Equal("v2", body);

        Assert.Equal("slept 1000", await (await longCall).Content.ReadAsStringAsync()); // the old version finished its work
        var exit = await old.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WorkerExitKind.Stopped, exit.Kind);
    }

    [Fact]
    public async Task A_redeploy_of_a_function_in_use_loads_the_new_version_before_its_first_call()
    {
        await using var host = await TestHost.StartAsync();
        var supervisor = Supervisor(host);
        var id = await DeployAsync(host, "warmed");
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/warmed/")).StatusCode);
        var loadedBefore = supervisor.FunctionsLoaded;

        await (await host.Client.PutAsJsonAsync("/v1/default/functions/warmed", new { code = "export default () => new Response('v2');" })).ShouldSucceedAsync();
        // No call yet: the version it replaced was serving, so the new one is loaded into a worker ahead of one.
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (supervisor.FunctionsLoaded == loadedBefore && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        Assert.Equal(loadedBefore + 1, supervisor.FunctionsLoaded);
        Assert.Equal("v2", await (await host.Caller.GetAsync("/v1/default/fn/warmed/")).Content.ReadAsStringAsync());
        Assert.Equal(loadedBefore + 1, supervisor.FunctionsLoaded); // the call found it loaded
        Assert.Single(supervisor.WorkersOf(id), worker => worker.IsAlive);
    }

    [Fact]
    public async Task A_prestarted_worker_serves_the_first_call_after_a_deploy()
    {
        await using var host = await TestHost.StartAsync(o => o with { Workers = o.Workers with { Prestarted = 1 } });
        var supervisor = Supervisor(host);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (supervisor.WorkersStarted < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(300); // let it reach ISOLA_READY
        var startedBefore = supervisor.WorkersStarted;
        await DeployAsync(host, "first-call");
        Assert.Equal(HttpStatusCode.OK, (await host.Caller.GetAsync("/v1/default/fn/first-call/")).StatusCode);
        Assert.True(supervisor.FunctionsLoaded >= 1);
        // The call used the pre-started process; any start counted since is the pool topping itself up again.
        Assert.True(supervisor.WorkersStarted <= startedBefore + 1);
    }

    [Fact]
    public async Task Invocations_are_recorded_with_logs_and_summed_in_stats()
    {
        await using var host = await TestHost.StartAsync();
        await DeployAsync(host, "recorded");
        var ok = await host.Caller.GetAsync("/v1/default/fn/recorded/log?x=1");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        await host.Caller.GetAsync("/v1/default/fn/recorded/throw");
        await host.Caller.PostAsync("/v1/default/fn/recorded/", new StringContent("x"));

        var okId = ok.Headers.GetValues("x-isola-invocation-id").Single();
        var record = await InvocationLogs.WaitForAsync(host, "recorded", okId, inv => inv.GetProperty("logs").GetArrayLength() >= 2);
        Assert.Equal("GET", record.GetProperty("method").GetString());
        Assert.Equal("/v1/default/fn/recorded/log?x=1", record.GetProperty("path").GetString());
        Assert.Equal(1, record.GetProperty("version").GetInt32());
        Assert.True(record.GetProperty("memoryBytes").GetInt64() > 1_000_000);
        var lines = record.GetProperty("logs").EnumerateArray().Select(l => (l.GetProperty("level").GetString(), l.GetProperty("msg").GetString())).ToList();
        Assert.Contains(("info", "hello from the log route"), lines);
        Assert.Contains(("error", "and an error line"), lines);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        System.Text.Json.JsonElement stats;
        do
        {
            stats = await (await host.Client.GetAsync("/v1/default/functions/recorded/stats")).ShouldSucceedAsync();
        }
        while (stats.GetProperty("invocations").GetInt64() < 3 && DateTime.UtcNow < deadline);
        Assert.Equal(3, stats.GetProperty("invocations").GetInt64());
        Assert.Equal(1, stats.GetProperty("errors").GetInt64());
        Assert.Equal(0.3333, stats.GetProperty("errorRate").GetDouble(), 3);
        Assert.True(stats.GetProperty("durationMs").GetProperty("p99").GetDouble() >= stats.GetProperty("durationMs").GetProperty("p50").GetDouble());

        var errorsOnly = await (await host.Client.GetAsync("/v1/default/functions/recorded/logs?status=500")).ShouldSucceedAsync();
        Assert.Equal([500], errorsOnly.GetProperty("invocations").EnumerateArray().Select(i => i.GetProperty("status").GetInt32()));
        await (await host.Client.GetAsync("/v1/default/functions/recorded/logs?limit=0")).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await host.Client.GetAsync("/v1/default/functions/recorded/logs?since=yesterday")).ShouldFailAsync(400, "INVALID_REQUEST");

        // Records go with their function.
        var functionId = Guid.Parse((await (await host.Client.GetAsync("/v1/default/functions/recorded")).ShouldSucceedAsync()).GetProperty("id").GetString()!);
        await (await host.Client.DeleteAsync("/v1/default/functions/recorded")).ShouldSucceedAsync();
        await using var db = await host.OpenDatabaseAsync();
        await using var count = new Npgsql.NpgsqlCommand("select count(*) from isola.invocations where function_id = $1", db) { Parameters = { new() { Value = functionId } } };
        Assert.Equal(0L, await count.ExecuteScalarAsync());
    }

    private static WorkerSupervisor Supervisor(TestHost host) => host.Server.Services.GetRequiredService<WorkerSupervisor>();

    private static async Task<Guid> DeployAsync(TestHost host, string name)
    {
        var created = await (await host.DeployAsync(new { name, code = Limits, timeoutMs = 20000 })).ShouldSucceedAsync(201);
        return Guid.Parse(created.GetProperty("id").GetString()!);
    }
}
