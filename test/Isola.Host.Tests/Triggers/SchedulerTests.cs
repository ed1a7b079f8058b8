using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// <c>ctx.scheduler</c> (T5) from real functions: durable calls that run after their delay, can be cancelled, wait
/// for their transaction's COMMIT, and are retried and dead-lettered like events.
/// </summary>
public sealed class SchedulerTests(TriggerFixture fixture) : IClassFixture<TriggerFixture>
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task RunAfter_runs_the_function_after_the_delay_with_its_args_as_the_service()
    {
        var (caller, target) = await DeployPairAsync();
        var answer = await ScheduleAsync(caller, new { delayMs = 1500, function = target, args = new { hello = "later" } });
        var id = answer.GetProperty("scheduled").GetString();

        var seen = await fixture.WaitForSeenAsync(target, s => s.Count >= 1, "the scheduled call");
        var payload = Assert.Single(seen);
        Assert.Equal("scheduled", payload.GetProperty("type").GetString());
        Assert.Equal(id, payload.GetProperty("id").GetString());
        Assert.Equal("later", payload.GetProperty("args").GetProperty("hello").GetString());
        // Not early, by the database's clock: due 1.5 s after the caller ran, and run no sooner than due.
        var scheduledAt = DateTimeOffset.Parse(payload.GetProperty("scheduledAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var callerRanAt = DateTimeOffset.Parse((await fixture.SeenAsync(caller))[0].GetProperty("_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        var ranAt = DateTimeOffset.Parse(payload.GetProperty("_at").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(scheduledAt - callerRanAt >= TimeSpan.FromMilliseconds(1500), $"due at {scheduledAt:O}, scheduled by a call at {callerRanAt:O}");
        Assert.True(ranAt >= scheduledAt, $"ran at {ranAt:O}, due at {scheduledAt:O}");
    }

    [Fact]
    public async Task Cancel_prevents_the_call()
    {
        var (caller, target) = await DeployPairAsync();
        var cancelled = await ScheduleAsync(caller, new { delayMs = 800, function = target, args = new { n = "cancelled" }, cancel = true });
        Assert.True(cancelled.GetProperty("cancelled").GetBoolean());
        await ScheduleAsync(caller, new { delayMs = 1000, function = target, args = new { n = "kept" } });

        // Once the later call ran and nothing is pending, the cancelled one would have run too.
        await fixture.WaitForSeenAsync(target, s => s.Count >= 1, "the kept call");
        await fixture.WaitUntilSettledAsync(target);
        Assert.Equal(["kept"], (await fixture.SeenAsync(target)).Select(e => e.GetProperty("args").GetProperty("n").GetString()));
    }

    [Fact]
    public async Task RunAt_and_cancel_work_from_a_Deno_serve_function()
    {
        var target = TriggerFixture.Unique("at-target");
        await fixture.DeployAsync(target, [new { type = "event", eventName = "never." + target }]);
        var caller = TriggerFixture.Unique("at-caller");
        await fixture.DeployCodeAsync(caller, $$"""
            Deno.serve(async (req, info) => {
              const gone = await info.scheduler.runAt(new Date(Date.now() + 60_000), "{{target}}", { n: "gone" });
              const first = await info.scheduler.cancel(gone);
              const again = await info.scheduler.cancel(gone);
              const id = await info.scheduler.runAt(new Date(Date.now() - 1000).toISOString(), "{{target}}", { n: "past" });
              return Response.json({ id, first, again });
            });
            """);

        var answer = await (await Host.Client.PostAsync($"/v1/default/fn/{caller}", null)).ShouldSucceedAsync();
        Assert.True(answer.GetProperty("first").GetBoolean());
        Assert.False(answer.GetProperty("again").GetBoolean());
        var seen = await fixture.WaitForSeenAsync(target, s => s.Count >= 1, "the call due in the past");
        Assert.Equal(answer.GetProperty("id").GetString(), seen[0].GetProperty("id").GetString());
        await fixture.WaitUntilSettledAsync(target);
        Assert.Single(await fixture.SeenAsync(target));
    }

    [Fact]
    public async Task Scheduling_an_unknown_function_is_an_error_to_the_caller()
    {
        var caller = TriggerFixture.Unique("sched-unknown");
        await fixture.DeployCodeAsync(caller, """
            export default async (req, ctx) => {
              try {
                return Response.json({ id: await ctx.scheduler.runAfter(10, "no-such-function", {}) });
              } catch (e) {
                return Response.json({ code: e.code, message: e.message });
              }
            };
            """);

        var error = await (await Host.Client.PostAsync($"/v1/default/fn/{caller}", null)).ShouldSucceedAsync();
        Assert.Equal("FUNCTION_NOT_FOUND", error.GetProperty("code").GetString());
        Assert.Equal("app 'default' has no function 'no-such-function' to schedule", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_call_scheduled_inside_a_rolled_back_transaction_never_runs_and_a_committed_one_does()
    {
        var (caller, target) = await DeployPairAsync();
        await ScheduleAsync(caller, new { delayMs = 0, function = target, args = new { end = "rollback" }, inTransaction = "rollback" });
        await ScheduleAsync(caller, new { delayMs = 0, function = target, args = new { end = "commit" }, inTransaction = "commit" });

        await fixture.WaitForSeenAsync(target, s => s.Count >= 1, "the committed call");
        await fixture.WaitUntilSettledAsync(target);
        Assert.Equal(["commit"], (await fixture.SeenAsync(target)).Select(e => e.GetProperty("args").GetProperty("end").GetString()));
    }

    [Fact]
    public async Task A_failing_scheduled_call_is_retried_then_dead_lettered_like_an_event()
    {
        var (caller, target) = await DeployPairAsync();
        await ScheduleAsync(caller, new { delayMs = 0, function = target, args = new { failUntilAttempt = 3 } });
        var answer = await ScheduleAsync(caller, new { delayMs = 0, function = target, args = new { status = 503 } });
        var doomed = answer.GetProperty("scheduled").GetString();

        var seen = await fixture.WaitForSeenAsync(target, s => s.Count(e => e.GetProperty("id").GetString() == doomed) >= 5, "five attempts of the doomed call");
        await fixture.WaitUntilSettledAsync(target);
        Assert.Equal([1, 2, 3], (await fixture.SeenAsync(target)).Where(e => e.GetProperty("id").GetString() != doomed).Select(e => e.GetProperty("attempt").GetInt32()));
        var dead = Assert.Single(await fixture.DeadAsync(), d => d.GetProperty("function").GetString() == target);
        Assert.Equal("scheduled", dead.GetProperty("kind").GetString());
        Assert.Equal(5, dead.GetProperty("attempts").GetInt32());
        Assert.Equal(503, dead.GetProperty("scheduled").GetProperty("args").GetProperty("status").GetInt32());
        Assert.Equal(5, seen.Count(e => e.GetProperty("id").GetString() == doomed));
    }

    /// <summary>A recorder callable over HTTP (it schedules what the body says) and a recorder to be called.</summary>
    private async Task<(string Caller, string Target)> DeployPairAsync()
    {
        var caller = TriggerFixture.Unique("sched-caller");
        await fixture.DeployAsync(caller, [new { type = "http" }]);
        var target = TriggerFixture.Unique("sched-target");
        await fixture.DeployAsync(target, [new { type = "event", eventName = "never." + target }]);
        return (caller, target);
    }

    private async Task<JsonElement> ScheduleAsync(string caller, object schedule) =>
        await (await Host.Client.PostAsJsonAsync($"/v1/default/fn/{caller}", new { schedule })).ShouldSucceedAsync();
}
