using System.Collections.Concurrent;
using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// A hot function through a real node (decision 029): under bounded concurrent load its CPU-bound
/// handler gets a second worker, seen in <c>GET /v1/workers</c> and in the per-process id each
/// response carries; both workers' console output and invocation records are stored; a redeploy
/// drains both; an idle extra retires.
/// </summary>
[Collection(CpuBoundCollection.Name)]
public sealed class PoolScalingTests
{
    private static readonly string Hot = TestEnvironment.Fixture("gateway/hot/index.ts");

    [Fact]
    public async Task A_hot_function_gets_a_second_worker_both_log_and_record_a_redeploy_replaces_both_and_the_idle_extra_retires()
    {
        // A low CPU bar and no free-core check: the test machine is shared with other tests.
        await using var host = await TestHost.StartAsync(o => o with
        {
            Workers = o.Workers with
            {
                MaxWorkersPerFunction = 2, ScaleOutCpuPercent = 30, ScaleOutFreeCpuPercent = 0,
                ScaleInterval = TimeSpan.FromMilliseconds(250), ScaleInIdle = TimeSpan.FromMilliseconds(500),
            },
        });
        await (await host.DeployAsync(new { name = "hot", code = Hot })).ShouldSucceedAsync(201);

        using var stop = new CancellationTokenSource();
        var answers = new ConcurrentQueue<(string Worker, string Version, string InvocationId)>();
        var failures = new ConcurrentQueue<string>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 3000 && !stop.IsCancellationRequested; i++)
            {
                using var response = await host.Caller.GetAsync("/v1/default/fn/hot");
                var body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                {
                    failures.Enqueue($"{(int)response.StatusCode} {body}");
                    continue;
                }

                using var json = System.Text.Json.JsonDocument.Parse(body);
                answers.Enqueue((json.RootElement.GetProperty("worker").GetString()!, json.RootElement.GetProperty("version").GetString()!,
                    response.Headers.GetValues("x-isola-invocation-id").Single()));
            }
        })).ToList();

        await WaitUntilAsync(async () => (await WorkersOfAsync(host, "hot")).Count == 2, "a second worker of hot in /v1/workers");
        await WaitUntilAsync(() => Task.FromResult(answers.Select(a => a.Worker).Distinct().Count() >= 2), "answers from two worker processes");
        var scaled = await (await host.Client.GetAsync("/v1/workers")).ShouldSucceedAsync();
        Assert.True(scaled.GetProperty("scaledOut").GetInt64() == 1, scaled.ToString());
        var v1Pids = (await WorkersOfAsync(host, "hot")).Select(w => w.GetProperty("pid").GetInt32()).ToList();

        // Each process's output and records are kept: one invocation of each, found in the log with its own line.
        foreach (var served in answers.Where(a => a.Version == "v1").GroupBy(a => a.Worker).Select(g => g.First()))
        {
            await InvocationLogs.WaitForAsync(host, "hot", served.InvocationId,
                invocation => invocation.GetProperty("status").GetInt32() == 200 && invocation.GetProperty("logs").ToString().Contains("served by " + served.Worker));
        }

        // A redeploy under load: both old workers drain and stop, calls go on to the new version.
        await (await host.Client.PutAsJsonAsync("/v1/default/functions/hot", new { code = Hot.Replace("\"v1\"", "\"v2\"") })).ShouldSucceedAsync();
        await WaitUntilAsync(async () => (await WorkersOfAsync(host, "hot")).All(w => w.GetProperty("version").GetInt32() == 2), "only version 2 workers");
        await WaitUntilAsync(() => Task.FromResult(v1Pids.All(pid => !Directory.Exists($"/proc/{pid}"))), "the version 1 processes gone");
        var before = answers.Count;
        await WaitUntilAsync(() => Task.FromResult(answers.Skip(before).Any(a => a.Version == "v2")), "answers from version 2");

        // The new version grows the same way; once the load stops its extra retires and one worker stays.
        await WaitUntilAsync(async () => (await WorkersOfAsync(host, "hot")).Count == 2, "a second worker of version 2");
        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Empty(failures);
        await WaitUntilAsync(async () => (await WorkersOfAsync(host, "hot")).Count == 1, "one worker of hot once idle");
    }

    private static async Task<List<System.Text.Json.JsonElement>> WorkersOfAsync(TestHost host, string function)
    {
        var list = await (await host.Client.GetAsync("/v1/workers")).ShouldSucceedAsync();
        return [.. list.GetProperty("workers").EnumerateArray().Where(w => w.GetProperty("function").GetString() == function)];
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"never saw {what} within 60 s");
            await Task.Delay(100);
        }
    }
}
