using System.Globalization;
using System.Net.Http.Json;
using Isola.Host.Data;
using Isola.Host.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// Cron across several <c>isola serve</c> processes on one database (T1): every node watches the same
/// cron and tries to claim each tick; the tick's unique row lets exactly one of them run it.
/// </summary>
public sealed class CronNodesTests(ITestOutputHelper output)
{
    private const string Function = "every-second";
    private const int WindowTicks = 10;

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Over_10_s_no_tick_runs_twice_and_none_is_missed(int nodeCount)
    {
        await using var cluster = await NodeCluster.StartAsync(nodeCount);
        using var first = cluster.Admin(0);
        using var last = cluster.Admin(nodeCount - 1);
        await CronRuns.CreateTableAsync(first);
        // Deployed through the last node: the others learn of it from the change notice.
        await (await last.PostAsJsonAsync("/v1/default/functions", new
        {
            name = Function,
            code = TestEnvironment.Fixture("triggers/cron-recorder/index.ts"),
            triggers = new object[] { new { type = "cron", config = new { schedule = "* * * * * *" } }, new { type = "http" } },
        })).ShouldSucceedAsync(201);
        await CronRuns.WaitForAsync(first, Function, rows => rows.Count >= 1);

        // A node's first run of a version starts its worker, which on a loaded machine can outlast a
        // second and make the next tick a (recorded) overlap skip. Start one on every node over HTTP
        // first, so the window counts ticks, not worker starts.
        for (var i = 0; i < nodeCount; i++)
        {
            using var node = cluster.Admin(i);
            await (await node.GetAsync($"/v1/default/fn/{Function}")).EnsureSuccessOrExplainAsync();
        }

        // The window starts two ticks from now and holds ten ticks; two more are awaited so a late
        // duplicate of the window's last tick would be seen.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var window = Enumerable.Range(0, WindowTicks).Select(i => (now / 1000 * 1000) + 2000 + i * 1000L).ToList();
        var runs = await CronRuns.WaitForAsync(first, Function, rows => rows.Any(row => CronRuns.Tick(row) >= window[^1] + 2000));
        var claims = await ClaimsAsync(cluster.DatabaseUrl, window[0], window[^1]);
        await (await first.DeleteAsync($"/v1/default/functions/{Function}")).ShouldSucceedAsync();

        var ticks = CronRuns.Ticks(runs);
        var twice = ticks.GroupBy(tick => tick).Where(group => group.Count() > 1).Select(group => Format(group.Key)).ToList();
        Assert.True(twice.Count == 0, $"ran more than once: {string.Join(", ", twice)}");
        var missed = window.Except(ticks).Select(Format).ToList();
        Assert.True(missed.Count == 0, $"never ran: {string.Join(", ", missed)}; claims: {string.Join("; ", claims)}");
        Assert.Equal(WindowTicks, claims.Count);
        Assert.All(claims, claim => Assert.Equal("succeeded", claim.Status));

        // Figures for the report, not assertions: which nodes ran the window, and how late each run started.
        var delays = claims.Where(claim => claim.StartDelayMs is not null).Select(claim => claim.StartDelayMs!.Value).Order().ToList();
        output.WriteLine($"{nodeCount} nodes: the window's {WindowTicks} ticks ran on {claims.Select(claim => claim.Node).Distinct().Count()} node(s); " +
            $"start after the tick (host): p50 {Percentile(delays, 0.5):F1} ms, max {(delays.Count > 0 ? delays[^1] : double.NaN):F1} ms");
    }

    private sealed record TickClaim(DateTimeOffset ScheduledAt, string Node, string Status, double? StartDelayMs)
    {
        public override string ToString() => $"{Format(ScheduledAt.ToUnixTimeMilliseconds())} {Status} on {Node}";
    }

    /// <summary>The tick rows of the window, straight from the platform database, with when the invocation started.</summary>
    private static async Task<List<TickClaim>> ClaimsAsync(string databaseUrl, long fromMs, long toMs)
    {
        await using var connection = new NpgsqlConnection(DatabaseUrl.ToConnectionString(databaseUrl));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            select t.scheduled_at, t.node, t.status, extract(epoch from (i.started_at - t.scheduled_at))::float8 * 1000
            from isola.cron_ticks t
            join isola.functions f on f.id = t.function_id
            left join isola.invocations i on i.id = t.invocation_id
            where f.name = $1 and t.scheduled_at between to_timestamp($2 / 1000.0) and to_timestamp($3 / 1000.0)
            order by t.scheduled_at
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Function });
        command.Parameters.Add(new NpgsqlParameter { Value = (double)fromMs });
        command.Parameters.Add(new NpgsqlParameter { Value = (double)toMs });
        var claims = new List<TickClaim>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            claims.Add(new TickClaim(reader.GetFieldValue<DateTimeOffset>(0), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetDouble(3)));
        }

        return claims;
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    private static string Format(long epochMs) =>
        DateTimeOffset.FromUnixTimeMilliseconds(epochMs).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
}
