using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// Cron triggers (T1) on one node, with real workers and PostgreSQL: the function
/// (test/fixtures/triggers/cron-recorder) writes every run to its app database, so these tests see what it
/// was given and who it ran as.
/// </summary>
public sealed class CronTests : IAsyncLifetime
{
    private const string EverySecond = "* * * * * *";
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(options => options with { Workers = options.Workers with { Prestarted = 1 } });
        await CronRuns.CreateTableAsync(_host.Client);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_cron_every_second_runs_once_a_second_as_the_service_with_its_payload()
    {
        await DeployAsync("every-second", EverySecond);
        var runs = await CronRuns.WaitForAsync(_host.Client, "every-second", rows => rows.Count >= 7);
        var logs = await (await _host.Client.GetAsync("/v1/default/functions/every-second/logs?limit=100")).ShouldSucceedAsync();
        await DeleteAsync("every-second");

        foreach (var run in runs)
        {
            Assert.Equal("cron", run.GetProperty("trigger_type").GetString()); // ctx.trigger
            Assert.Equal("cron", run.GetProperty("body_type").GetString()); // the POST body is the same payload
            Assert.Equal(EverySecond, run.GetProperty("schedule").GetString());
            Assert.Equal("service", run.GetProperty("caller_kind").GetString()); // ctx.auth
            Assert.Equal("POST", run.GetProperty("method").GetString());
        }

        // One run per tick, on whole seconds, none left out after the first (whose run starts the
        // function's worker and may take long enough for the next tick to be a recorded overlap skip).
        var ticks = CronRuns.Ticks(runs);
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        Assert.All(ticks, tick => Assert.Equal(0, tick % 1000));
        var afterFirst = ticks.Skip(1).ToList();
        Assert.All(afterFirst.Zip(afterFirst.Skip(1)), pair => Assert.Equal(1000, pair.Second - pair.First));

        // The invocation log says cron and service, with no HTTP method or path.
        var invocations = logs.GetProperty("invocations").EnumerateArray().ToList();
        Assert.NotEmpty(invocations);
        Assert.All(invocations, invocation =>
        {
            Assert.Equal("cron", invocation.GetProperty("trigger").GetString());
            Assert.Equal("service", invocation.GetProperty("callerKind").GetString());
            Assert.Equal(JsonValueKind.Null, invocation.GetProperty("method").ValueKind);
            Assert.Equal(200, invocation.GetProperty("status").GetInt32());
        });
    }

    private static bool HasSucceededTick(JsonElement function) =>
        function.GetProperty("cron").EnumerateArray().Any(cron => cron.GetProperty("recentTicks").EnumerateArray()
            .Any(tick => tick.GetProperty("status").GetString() == "succeeded"));

    [Fact]
    public async Task The_function_s_GET_shows_next_runs_and_the_latest_ticks()
    {
        await DeployAsync("shown", "*/2 * * * * *", timeZone: "Europe/Oslo");
        await CronRuns.WaitForAsync(_host.Client, "shown", rows => rows.Count >= 1);
        // The run wrote its row before its tick is marked as ended: wait for the GET to show one that has.
        var function = await (await _host.Client.GetAsync("/v1/default/functions/shown")).ShouldSucceedAsync();
        for (var attempt = 0; attempt < 50 && !HasSucceededTick(function); attempt++)
        {
            await Task.Delay(100);
            function = await (await _host.Client.GetAsync("/v1/default/functions/shown")).ShouldSucceedAsync();
        }

        var cron = Assert.Single(function.GetProperty("cron").EnumerateArray());
        Assert.Equal("*/2 * * * * *", cron.GetProperty("schedule").GetString());
        Assert.Equal("Europe/Oslo", cron.GetProperty("timezone").GetString());
        var next = cron.GetProperty("nextRuns").EnumerateArray().Select(tick => DateTimeOffset.Parse(tick.GetString()!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(5, next.Count);
        Assert.All(next, tick => Assert.Equal(0, tick.Second % 2));
        Assert.All(next.Zip(next.Skip(1)), pair => Assert.Equal(TimeSpan.FromSeconds(2), pair.Second - pair.First));

        var ran = cron.GetProperty("recentTicks").EnumerateArray().First(tick => tick.GetProperty("status").GetString() == "succeeded");
        Assert.EndsWith(".000Z", ran.GetProperty("scheduledAt").GetString());
        Assert.Equal(1, ran.GetProperty("version").GetInt32());
        Assert.False(string.IsNullOrEmpty(ran.GetProperty("node").GetString()));
        var invocationId = ran.GetProperty("invocationId").GetString()!;
        await InvocationLogs.WaitForAsync(_host, "shown", invocationId, record => record.GetProperty("trigger").GetString() == "cron");
        await DeleteAsync("shown");

        // A function without cron triggers has no such field, and costs no query.
        await (await _host.DeployAsync(new { name = "plain", code = "export default () => new Response('x');" })).ShouldSucceedAsync(201);
        var plain = await (await _host.Client.GetAsync("/v1/default/functions/plain")).ShouldSucceedAsync();
        Assert.False(plain.TryGetProperty("cron", out _));
    }

    [Fact]
    public async Task A_new_schedule_takes_effect_at_once_and_a_deleted_cron_stops()
    {
        await DeployAsync("retimed", EverySecond);
        await CronRuns.WaitForAsync(_host.Client, "retimed", rows => rows.Count >= 1);

        await (await _host.Client.PutAsJsonAsync("/v1/default/functions/retimed", new
        {
            triggers = new[] { new { type = "cron", config = new Dictionary<string, string> { ["schedule"] = "*/3 * * * * *" } } },
        })).ShouldSucceedAsync();
        var runs = await CronRuns.WaitForAsync(_host.Client, "retimed", rows => rows.Count(row => row.GetProperty("schedule").GetString() == "*/3 * * * * *") >= 2);
        var retimed = runs.Where(row => row.GetProperty("schedule").GetString() == "*/3 * * * * *").ToList();
        Assert.All(CronRuns.Ticks(retimed), tick => Assert.Equal(0, tick / 1000 % 3));
        // Once the new schedule ran, the old one is gone: no every-second tick after the first */3 one.
        var firstRetimed = CronRuns.Ticks(retimed).Min();
        Assert.DoesNotContain(runs, row => row.GetProperty("schedule").GetString() == EverySecond && CronRuns.Tick(row) > firstRetimed);

        var deletedAt = await DatabaseNowAsync();
        await DeleteAsync("retimed");
        // Nothing to wait for but time: three more ticks of */3 would have come by now.
        await Task.Delay(TimeSpan.FromSeconds(4));
        var after = await CronRuns.ReadAsync(_host.Client, "retimed");
        Assert.DoesNotContain(after, row => CronRuns.Tick(row) > deletedAt + 1000);
    }

    [Fact]
    public async Task A_tick_whose_previous_run_still_goes_is_skipped_and_shown_as_skipped()
    {
        // Each run takes 2.5 s; ticks come every second.
        await DeployAsync("slow", EverySecond, sleepMs: 2500);
        var runs = await CronRuns.WaitForAsync(_host.Client, "slow", rows => rows.Count(row => row.GetProperty("finished_at").ValueKind != JsonValueKind.Null) >= 2);
        var function = await (await _host.Client.GetAsync("/v1/default/functions/slow")).ShouldSucceedAsync();
        await DeleteAsync("slow");

        // Runs of one cron never overlap: each started after the one before had finished.
        var finished = runs.Where(row => row.GetProperty("finished_at").ValueKind != JsonValueKind.Null).OrderBy(CronRuns.Tick).ToList();
        foreach (var (earlier, later) in finished.Zip(finished.Skip(1)))
        {
            Assert.True(later.GetProperty("started_at").GetDouble() >= earlier.GetProperty("finished_at").GetDouble(),
                $"the run of {CronRuns.Tick(later)} started before the run of {CronRuns.Tick(earlier)} had finished");
        }

        var ticks = function.GetProperty("cron")[0].GetProperty("recentTicks").EnumerateArray().ToList();
        var skipped = ticks.Where(tick => tick.GetProperty("status").GetString() == "skipped").ToList();
        Assert.NotEmpty(skipped);
        Assert.All(skipped, tick =>
        {
            Assert.Contains("was still going", tick.GetProperty("detail").GetString());
            Assert.Equal(JsonValueKind.Null, tick.GetProperty("invocationId").ValueKind);
        });
        // A skipped tick never ran.
        var ran = CronRuns.Ticks(runs).ToHashSet();
        Assert.All(skipped, tick => Assert.DoesNotContain(
            DateTimeOffset.Parse(tick.GetProperty("scheduledAt").GetString()!, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeMilliseconds(), ran));
    }

    [Fact]
    public async Task After_every_node_was_down_the_missed_ticks_are_not_replayed()
    {
        // A database of its own, so that no other node claims ticks while this one is down.
        var options = TestHost.NewOptions(await SharedPostgres.CreateDatabaseAsync()) with { Workers = new() { Prestarted = 1 } };
        await using (var first = await TestHost.StartAsync(options, ownsDataDir: true))
        {
            await CronRuns.CreateTableAsync(first.Client);
            await (await first.DeployAsync(new
            {
                name = "survivor",
                code = TestEnvironment.Fixture("triggers/cron-recorder/index.ts"),
                trigger = new { type = "cron", config = new { schedule = EverySecond } },
            })).ShouldSucceedAsync(201);
            await CronRuns.WaitForAsync(first.Client, "survivor", rows => rows.Count >= 2);
        }

        // Read once the node has stopped: a tick it claimed while stopping counts too.
        var before = await ClaimedTicksAsync(options.DatabaseUrl!);

        // Every node down for a few ticks, then one starts again.
        await Task.Delay(TimeSpan.FromSeconds(3));
        await using var second = await TestHost.StartAsync(TestHost.NewOptions(options.DatabaseUrl) with
        {
            MasterKey = options.MasterKey,
            AdminKey = options.AdminKey,
            Workers = new() { Prestarted = 1 },
        }, ownsDataDir: true);
        var runs = await CronRuns.WaitForAsync(second.Client, "survivor", rows => rows.Count >= before.Count + 4);
        var claimed = await ClaimedTicksAsync(options.DatabaseUrl!);
        await (await second.Client.DeleteAsync("/v1/default/functions/survivor")).ShouldSucceedAsync();

        // Nothing ran twice, and every run is a claimed tick.
        var ticks = CronRuns.Ticks(runs);
        Assert.Equal(ticks.Count, ticks.Distinct().Count());
        Assert.All(ticks, tick => Assert.Contains(tick, claimed.Keys));
        // The claimed ticks come one a second, then a single gap where every node was down (at least
        // the two ticks inside the three seconds waited), then one a second again: of the ticks missed,
        // only the latest was claimed on restart. (The run of that one may be slow, as its node has just
        // started, so the tick after it may be claimed as skipped.)
        var order = claimed.Keys.Order().ToList();
        var gaps = order.Zip(order.Skip(1)).Where(pair => pair.Second - pair.First != 1000).ToList();
        Assert.True(gaps.Count == 1, $"expected one gap, got {string.Join(", ", gaps)}; claimed: {string.Join(", ", claimed)}");
        Assert.True(gaps[0].Second - gaps[0].First >= 3000, $"the gap {gaps[0]} is shorter than the downtime");
        Assert.Equal(before.Keys.Max(), gaps[0].First);
        // The newest tick may still be running when the rows are read; every earlier one has ended.
        Assert.All(claimed.Where(tick => tick.Key != order[^1]).Select(tick => tick.Value), status => Assert.Contains(status, new[] { "succeeded", "skipped" }));
    }

    /// <summary>Every tick row of a platform database (epoch ms → status).</summary>
    private static async Task<Dictionary<long, string>> ClaimedTicksAsync(string platformDatabase)
    {
        await using var connection = new Npgsql.NpgsqlConnection(platformDatabase);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select round(extract(epoch from scheduled_at) * 1000)::int8, status from isola.cron_ticks", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var ticks = new Dictionary<long, string>();
        while (await reader.ReadAsync())
        {
            ticks[reader.GetInt64(0)] = reader.GetString(1);
        }

        return ticks;
    }

    private async Task DeployAsync(string name, string schedule, string? timeZone = null, int sleepMs = 0)
    {
        var config = new Dictionary<string, string> { ["schedule"] = schedule };
        if (timeZone is not null)
        {
            config["timezone"] = timeZone;
        }

        await (await _host.DeployAsync(new
        {
            name,
            code = TestEnvironment.Fixture("triggers/cron-recorder/index.ts"),
            trigger = new { type = "cron", config },
            envVars = new Dictionary<string, string> { ["SLEEP_MS"] = sleepMs.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            timeoutMs = 10_000,
        })).ShouldSucceedAsync(201);
    }

    private async Task DeleteAsync(string name) =>
        await (await _host.Client.DeleteAsync($"/v1/default/functions/{name}")).ShouldSucceedAsync();

    private async Task<double> DatabaseNowAsync()
    {
        var result = await (await _host.Client.PostAsJsonAsync("/v1/default/db/query", new { sql = "select extract(epoch from clock_timestamp())::float8 * 1000 as now" }))
            .ShouldSucceedAsync();
        return result.GetProperty("rows")[0].GetProperty("now").GetDouble();
    }
}
