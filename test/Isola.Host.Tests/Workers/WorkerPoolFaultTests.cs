using System.Net;
using System.Text.Json;
using Isola.Host.Workers;

namespace Isola.Host.Tests.Workers;

/// <summary>
/// The pool and the worker process against a fake worker that breaks the protocol on purpose. Each
/// test asserts the domain signal the gateway classifies: <see cref="WorkerBootException"/> →
/// 503 BOOT_ERROR, <see cref="NoCapacityException"/> → 503 NO_CAPACITY, a worker that exited
/// (<see cref="WorkerExitKind.Crashed"/>) or a broken connection → 502 WORKER_CRASHED, and a
/// deadline on an unresponsive worker → kill and 504 FUNCTION_TIMEOUT (Gateway/InvocationForwarder).
/// </summary>
public sealed class WorkerPoolFaultTests
{
    [Fact]
    public async Task A_well_behaved_fake_worker_gets_the_envelope_and_answers()
    {
        await using var fakes = new FakeWorkers();
        using var lease = await fakes.Supervisor.AcquireAsync(fakes.Function("invoke=ok"), CancellationToken.None);
        using var response = await lease.Worker.Invoker.SendAsync(FakeWorkers.Invocation("/fake/sub?x=1"), CancellationToken.None);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var echo = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("/fake/sub?x=1", echo.RootElement.GetProperty("target").GetString());
        Assert.Equal("""{"kind":"anon","user":null}""", echo.RootElement.GetProperty("envelope").GetProperty("x-isola-caller").GetString());
        Assert.True(await lease.Worker.IsResponsiveAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(1, fakes.Supervisor.FunctionsLoaded);
    }

    [Fact]
    public async Task A_load_slower_than_the_load_timeout_is_a_boot_error_and_the_next_caller_is_not_made_to_wait_again()
    {
        await using var fakes = new FakeWorkers(new WorkerOptions { Prestarted = 0, LoadTimeout = TimeSpan.FromMilliseconds(300), BootFailureBackoff = TimeSpan.FromMinutes(1) });
        var function = fakes.Function("load-delay-ms=60000");
        var error = await Assert.ThrowsAsync<WorkerBootException>(async () => await fakes.Supervisor.AcquireAsync(function, CancellationToken.None));
        Assert.Equal("the function failed to load: loading took longer than 0.3 s", error.Message);

        // Within the back-off the failure is answered at once, from memory: no second process.
        var again = await Assert.ThrowsAsync<WorkerBootException>(async () => await fakes.Supervisor.AcquireAsync(function, CancellationToken.None));
        Assert.Equal(error.Message, again.Message);
        Assert.Equal(1, fakes.Supervisor.WorkersStarted);
        Assert.Empty(fakes.Supervisor.WorkersOf(function.Id));
    }

    [Theory]
    [InlineData("load=fail", "the function failed to load: fake-worker: the module threw at top level")]
    [InlineData("load=crash", "the function failed to load: the worker process exited unexpectedly (exit code 3)")]
    public async Task A_load_that_fails_or_kills_the_worker_is_a_boot_error_with_the_reason(string behaviour, string message)
    {
        await using var fakes = new FakeWorkers();
        var error = await Assert.ThrowsAsync<WorkerBootException>(async () => await fakes.Supervisor.AcquireAsync(fakes.Function(behaviour), CancellationToken.None));
        Assert.StartsWith(message, error.Message);
    }

    [Fact]
    public async Task A_worker_that_never_says_ready_is_a_boot_error_after_the_start_timeout()
    {
        await using var fakes = new FakeWorkers(new WorkerOptions { Prestarted = 0, StartTimeout = TimeSpan.FromMilliseconds(500) }, FakeWorkers.NeverReadyScript);
        var error = await Assert.ThrowsAsync<WorkerBootException>(async () => await fakes.Supervisor.AcquireAsync(fakes.Function("invoke=ok"), CancellationToken.None));
        // The stderr tail follows when the runtime got as far as printing it (it may not within 0.5 s on a loaded machine).
        Assert.StartsWith("the worker process did not start: no ISOLA_READY within 0.5 s", error.Message);
    }

    [Fact]
    public async Task A_crash_mid_response_breaks_the_body_records_a_crash_and_the_next_call_gets_a_new_worker()
    {
        await using var fakes = new FakeWorkers();
        var function = fakes.Function("invoke=crash-mid-response");
        WorkerProcess crashed;
        using (var lease = await fakes.Supervisor.AcquireAsync(function, CancellationToken.None))
        {
            crashed = lease.Worker;
            // The head arrives (the gateway may already have sent it on), then the body breaks.
            using var response = await lease.Worker.Invoker.SendAsync(FakeWorkers.Invocation(), CancellationToken.None);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var broken = await Record.ExceptionAsync(() => response.Content.ReadAsByteArrayAsync());
            Assert.True(broken is HttpRequestException or IOException, $"expected a broken body, got {broken?.GetType().Name ?? "none"}");
            var exit = await lease.Worker.Exited.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(WorkerExitKind.Crashed, exit.Kind);
            Assert.Equal(5, exit.ExitCode);
            Assert.StartsWith("the worker process exited unexpectedly (exit code 5)", exit.Detail);
        }

        using var next = await fakes.Supervisor.AcquireAsync(function, CancellationToken.None);
        Assert.NotSame(crashed, next.Worker);
        Assert.True(next.Worker.IsAlive);
    }

    [Fact]
    public async Task A_crash_before_the_response_head_fails_the_send_and_the_exit_says_crashed()
    {
        await using var fakes = new FakeWorkers();
        using var lease = await fakes.Supervisor.AcquireAsync(fakes.Function("invoke=crash-before-head"), CancellationToken.None);
        await Assert.ThrowsAsync<HttpRequestException>(() => lease.Worker.Invoker.SendAsync(FakeWorkers.Invocation(), CancellationToken.None));
        Assert.Equal(WorkerExitKind.Crashed, (await lease.Worker.Exited.WaitAsync(TimeSpan.FromSeconds(10))).Kind);
    }

    [Fact]
    public async Task A_malformed_answer_fails_the_send_while_the_worker_lives_on()
    {
        await using var fakes = new FakeWorkers();
        using var lease = await fakes.Supervisor.AcquireAsync(fakes.Function("invoke=malformed"), CancellationToken.None);
        await Assert.ThrowsAsync<HttpRequestException>(() => lease.Worker.Invoker.SendAsync(FakeWorkers.Invocation(), CancellationToken.None));
        // Not a crash: the worker still answers its health probe, so the gateway says the connection failed.
        Assert.True(await lease.Worker.IsResponsiveAsync(TimeSpan.FromSeconds(5)));
        Assert.True(lease.Worker.IsAlive);
    }

    [Fact]
    public async Task After_a_deadline_a_worker_whose_health_probe_never_answers_is_killed_as_unresponsive()
    {
        await using var fakes = new FakeWorkers();
        using var lease = await fakes.Supervisor.AcquireAsync(fakes.Function("invoke=hang health=hang"), CancellationToken.None);
        await fakes.Supervisor.HandleDeadlineAsync(lease.Worker);
        var exit = await lease.Worker.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WorkerExitKind.KilledUnresponsive, exit.Kind);
    }

    [Fact]
    public async Task After_a_deadline_a_worker_that_still_answers_its_health_probe_is_kept()
    {
        await using var fakes = new FakeWorkers();
        using var lease = await fakes.Supervisor.AcquireAsync(fakes.Function("invoke=hang"), CancellationToken.None);
        await fakes.Supervisor.HandleDeadlineAsync(lease.Worker);
        Assert.True(lease.Worker.IsAlive);
        Assert.True(await lease.Worker.IsResponsiveAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task When_the_only_slot_stays_busy_past_the_queue_wait_the_caller_gets_no_capacity_and_a_released_slot_is_reused()
    {
        await using var fakes = new FakeWorkers(new WorkerOptions { Prestarted = 0, Concurrency = 1, MaxWorkersPerFunction = 1, QueueWait = TimeSpan.FromMilliseconds(200) });
        var function = fakes.Function("invoke=ok");
        var first = await fakes.Supervisor.AcquireAsync(function, CancellationToken.None);
        var error = await Assert.ThrowsAsync<NoCapacityException>(async () => await fakes.Supervisor.AcquireAsync(function, CancellationToken.None));
        Assert.Equal("all 1 workers of 'fake' stayed busy for 0.2 s", error.Message);

        var worker = first.Worker;
        first.Dispose();
        using var second = await fakes.Supervisor.AcquireAsync(function, CancellationToken.None);
        Assert.Same(worker, second.Worker);
        Assert.Equal(1, fakes.Supervisor.WorkersStarted);
    }
}
