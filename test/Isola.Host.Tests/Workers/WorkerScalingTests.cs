using System.Collections.Concurrent;
using Isola.Host.Workers;
using Isola.Host.Workers.Scaling;

namespace Isola.Host.Tests.Workers;

/// <summary>
/// How many workers a function gets (decision 029), against fake workers whose handler burns CPU: a hot
/// one grows to a second worker and calls spread over both; the extra retires when idle; a full node
/// makes room by stopping the least recently used idle worker. The supervisor's scaling and reaping
/// rounds are called by the test itself, not by their timers, and CPU time is read from /proc as in
/// production.
/// </summary>
[Collection(Infrastructure.CpuBoundCollection.Name)]
public sealed class WorkerScalingTests
{
    [Fact]
    public void Cpu_time_is_read_after_a_command_name_with_spaces_and_the_machine_idle_share_from_proc_stat()
    {
        Assert.Equal(1234 + 56, CpuTime.ParseStat("4242 (deno (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 4 0 99 1000 200"));
        Assert.Null(CpuTime.ParseStat("garbage"));
        var machine = CpuTime.ParseMachine(["cpu  100 0 50 800 50 0 0 0 0 0", "cpu0 50 0 25 400 25 0 0 0 0 0", "cpu1 50 0 25 400 25 0 0 0 0 0", "intr 1"]);
        Assert.Equal((850L, 1000L, 2), machine);
        Assert.NotNull(CpuTime.OfProcess(Environment.ProcessId));
        Assert.NotNull(CpuTime.OfMachine());
    }

    [Fact]
    public async Task A_worker_near_a_full_core_with_calls_queued_gets_a_second_one_calls_spread_and_the_idle_extra_retires()
    {
        // A low CPU bar: the test machine is shared, and the free-core check is off for the same reason.
        await using var fakes = new FakeWorkers(new WorkerOptions
        {
            Prestarted = 0, MaxWorkersPerFunction = 2, ScaleOutCpuPercent = 30, ScaleOutFreeCpuPercent = 0,
            ScaleInIdle = TimeSpan.FromMilliseconds(200), IdleTimeout = TimeSpan.FromHours(1),
        });
        var function = fakes.Function("spin-ms=20");
        var supervisor = fakes.Supervisor;
        using (await supervisor.AcquireAsync(function, CancellationToken.None))
        {
        }

        var first = Assert.Single(supervisor.WorkersOf(function.Id));

        // Bounded load: 4 callers, each at most 3000 calls, until the test has seen what it waits for.
        using var stop = new CancellationTokenSource();
        var served = new ConcurrentDictionary<WorkerProcess, int>();
        var failures = new ConcurrentQueue<string>();
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 3000 && !stop.IsCancellationRequested; i++)
            {
                using var lease = await supervisor.AcquireAsync(function, CancellationToken.None);
                using var response = await lease.Worker.Invoker.SendAsync(FakeWorkers.Invocation(), CancellationToken.None);
                if (response.StatusCode != System.Net.HttpStatusCode.OK)
                {
                    failures.Enqueue($"{(int)response.StatusCode}");
                }

                served.AddOrUpdate(lease.Worker, 1, (_, n) => n + 1);
            }
        })).ToList();

        for (var round = 0; round < 200 && supervisor.WorkersOf(function.Id).Count < 2; round++)
        {
            await Task.Delay(250);
            supervisor.ScaleOut();
        }

        var workers = supervisor.WorkersOf(function.Id);
        Assert.Equal(2, workers.Count);
        Assert.Equal(1, supervisor.WorkersScaledOut);
        var second = Assert.Single(workers, w => w != first);

        // Least in flight first: the new worker takes a share of the calls as soon as it is there.
        for (var i = 0; i < 400 && served.GetValueOrDefault(second) < 20; i++)
        {
            await Task.Delay(50);
        }

        Assert.True(served.GetValueOrDefault(second) >= 20, $"the second worker served {served.GetValueOrDefault(second)} calls");
        for (var round = 0; round < 10; round++)
        {
            supervisor.ScaleOut();
        }

        Assert.Equal(2, supervisor.WorkersOf(function.Id).Count); // ISOLA_WORKER_MAX_PER_FUNCTION = 2

        await stop.CancelAsync();
        await Task.WhenAll(load);
        Assert.Empty(failures);

        // Idle: the extra goes after ScaleInIdle, the last one stays until IdleTimeout.
        for (var round = 0; round < 200 && supervisor.WorkersOf(function.Id).Count > 1; round++)
        {
            await Task.Delay(50);
            supervisor.ReapIdle();
        }

        var kept = Assert.Single(supervisor.WorkersOf(function.Id));
        await Task.Delay(fakes.Options.ScaleInIdle * 2);
        supervisor.ReapIdle();
        Assert.Same(kept, Assert.Single(supervisor.WorkersOf(function.Id)));
        Assert.True(kept.IsAlive);
        Assert.Equal(1, supervisor.FunctionWorkers);
    }

    [Fact]
    public async Task Calls_one_at_a_time_never_grow_the_pool_however_busy_the_worker()
    {
        await using var fakes = new FakeWorkers(new WorkerOptions { Prestarted = 0, MaxWorkersPerFunction = 2, ScaleOutCpuPercent = 1, ScaleOutFreeCpuPercent = 0 });
        var function = fakes.Function("spin-ms=50");
        for (var i = 0; i < 20; i++)
        {
            using (var lease = await fakes.Supervisor.AcquireAsync(function, CancellationToken.None))
            {
                // One invocation in flight on one worker: a second process would not run it sooner.
                using var response = await lease.Worker.Invoker.SendAsync(FakeWorkers.Invocation(), CancellationToken.None);
                fakes.Supervisor.ScaleOut();
            }
        }

        Assert.Single(fakes.Supervisor.WorkersOf(function.Id));
        Assert.Equal(0, fakes.Supervisor.WorkersScaledOut);
    }

    [Fact]
    public async Task A_full_node_stops_the_least_recently_used_idle_worker_and_a_call_waits_while_every_worker_is_busy()
    {
        await using var fakes = new FakeWorkers(new WorkerOptions { Prestarted = 0, MaxWorkers = 2 });
        var supervisor = fakes.Supervisor;
        var (a, b, c, d) = (fakes.Function("invoke=ok"), fakes.Function("invoke=ok"), fakes.Function("invoke=ok"), fakes.Function("invoke=ok"));
        using (await supervisor.AcquireAsync(a, CancellationToken.None))
        {
        }

        using (await supervisor.AcquireAsync(b, CancellationToken.None))
        {
        }

        var workerOfA = Assert.Single(supervisor.WorkersOf(a.Id));
        var heldB = await supervisor.AcquireAsync(b, CancellationToken.None); // b was used after a: a is the least recent
        var heldC = await supervisor.AcquireAsync(c, CancellationToken.None);
        Assert.Empty(supervisor.WorkersOf(a.Id));
        Assert.Equal(WorkerExitKind.Stopped, (await workerOfA.Exited.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
        Assert.Equal(1, supervisor.WorkersEvicted);
        Assert.Equal(2, supervisor.FunctionWorkers);

        // b and c are busy: d waits for one of them to go idle, then takes its place.
        var forD = supervisor.AcquireAsync(d, CancellationToken.None).AsTask();
        await Task.Delay(300);
        Assert.False(forD.IsCompleted);
        heldB.Dispose();
        using var leaseD = await forD.WaitAsync(TimeSpan.FromSeconds(30));
        using var response = await leaseD.Worker.Invoker.SendAsync(FakeWorkers.Invocation(), CancellationToken.None);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(supervisor.WorkersOf(b.Id));
        Assert.Single(supervisor.WorkersOf(c.Id));
        Assert.Equal(2, supervisor.WorkersEvicted);
        Assert.Equal(2, supervisor.FunctionWorkers);
        heldC.Dispose();
    }
}
