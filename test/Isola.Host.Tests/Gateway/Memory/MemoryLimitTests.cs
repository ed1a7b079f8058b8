using System.Net;
using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Gateway.Memory;

/// <summary>
/// Feature S1: <c>memoryLimitMb</c> bounds the worker process's real memory, not only V8's old space.
/// One suite, run against each enforcement mode (cgroup v1, RSS watchdog).
/// </summary>
public abstract class MemoryLimitTests<TFixture>(TFixture fixture) where TFixture : MemoryLimitFixture
{
    private const long MB = 1024 * 1024;
    private const int LimitMb = 64;

    private TestHost Host => fixture.Host;

    [Fact]
    public Task Array_buffers_past_the_limit_are_546_and_the_next_call_gets_a_fresh_worker() =>
        AssertBoundedAsync("buffers", "/buffers?mb=512&hold=1");

    [Fact]
    public Task Wasm_memory_past_the_limit_is_546_and_the_next_call_gets_a_fresh_worker() =>
        AssertBoundedAsync("wasm", "/wasm?mb=512&hold=1");

    [Fact]
    public Task Worker_threads_past_the_limit_are_546_and_the_next_call_gets_a_fresh_worker() =>
        AssertBoundedAsync("threads", "/threads?count=4&mb=128&hold=1");

    [Fact]
    public async Task The_invocation_log_reports_the_peak_of_array_buffers_the_heap_never_sees()
    {
        var name = Name("peak");
        await DeployAsync(name, memoryLimitMb: 256);
        // At once and quickly: a figure sampled now and then (the old one was, once a second) misses it.
        var response = await Host.Caller.GetAsync($"/v1/default/fn/{name}/buffers?mb=96&yield=0");
        Assert.Equal(96, (await response.ShouldSucceedAsync()).GetProperty("heldMb").GetInt32());
        var invocationId = response.Headers.GetValues("x-isola-invocation-id").Single();
        var logged = await InvocationLogs.WaitForAsync(Host, name, invocationId, _ => true);
        Assert.True(logged.GetProperty("memoryBytes").GetInt64() >= 96 * MB, $"recorded peak: {logged.GetProperty("memoryBytes")}");
    }

    private async Task AssertBoundedAsync(string kind, string route)
    {
        var name = Name(kind);
        var id = await DeployAsync(name, LimitMb);
        Assert.Equal(HttpStatusCode.OK, (await Host.Caller.GetAsync($"/v1/default/fn/{name}/")).StatusCode);
        var first = Assert.Single(Supervisor.WorkersOf(id));

        var response = await Host.Caller.GetAsync($"/v1/default/fn/{name}{route}");
        var error = await response.ShouldFailAsync(546, "WORKER_LIMIT");
        Assert.Contains($"{LimitMb} MB", error.GetProperty("message").GetString());
        Assert.Equal(WorkerExitKind.OutOfMemory, (await first.Exited.WaitAsync(TimeSpan.FromSeconds(10))).Kind);

        // The killed worker's real peak is in the log, and it stayed within the process limit.
        var invocationId = response.Headers.GetValues("x-isola-invocation-id").Single();
        var logged = await InvocationLogs.WaitForAsync(Host, name, invocationId, _ => true);
        var peak = logged.GetProperty("memoryBytes").GetInt64();
        var processLimit = (LimitMb + Host.Options.Workers.RuntimeAllowanceMb) * MB;
        Assert.True(peak >= LimitMb * MB, $"recorded peak {peak / MB} MB is below what the function held");
        Assert.True(peak <= processLimit + fixture.OvershootBytes, $"recorded peak {peak / MB} MB, process limit {processLimit / MB} MB");

        // The host is alive and the function is served again, by a new worker.
        Assert.Equal(HttpStatusCode.OK, (await Host.Caller.GetAsync($"/v1/default/fn/{name}/")).StatusCode);
        Assert.DoesNotContain(Supervisor.WorkersOf(id), worker => worker.Id == first.Id);
    }

    private string Name(string kind) => $"{kind}-{fixture.Mode.ToString().ToLowerInvariant()}";

    private async Task<Guid> DeployAsync(string name, int memoryLimitMb)
    {
        var body = new { name, code = TestEnvironment.Fixture("gateway/memory/index.ts"), memoryLimitMb, timeoutMs = 15000 };
        var deployed = await (await Host.Client.PostAsJsonAsync("/v1/default/functions", body)).ShouldSucceedAsync(201);
        return Guid.Parse(deployed.GetProperty("id").GetString()!);
    }

    private WorkerSupervisor Supervisor => Host.Server.Services.GetRequiredService<WorkerSupervisor>();
}
