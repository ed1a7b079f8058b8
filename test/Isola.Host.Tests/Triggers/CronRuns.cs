using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// The <c>cron_runs</c> table the cron-recorder fixture writes to, read through the query API. Times come
/// back as epoch milliseconds: <c>tick</c> (the payload's scheduledAt), <c>started_at</c>, <c>finished_at</c>.
/// </summary>
internal static class CronRuns
{
    public static async Task CreateTableAsync(HttpClient admin) =>
        await (await admin.PostAsJsonAsync("/v1/default/db/migrations", new { name = "001_cron_runs", sql = TestEnvironment.Fixture("triggers/cron_runs.sql") }))
            .ShouldSucceedAsync(201);

    public static async Task<List<JsonElement>> ReadAsync(HttpClient admin, string function)
    {
        var result = await (await admin.PostAsJsonAsync("/v1/default/db/query", new
        {
            sql = """
                select round(extract(epoch from scheduled_at) * 1000)::float8 as tick, schedule, trigger_type, body_type, caller_kind, method,
                       (extract(epoch from started_at) * 1000)::float8 as started_at, (extract(epoch from finished_at) * 1000)::float8 as finished_at
                from cron_runs where fn = $1 order by scheduled_at, id
                """,
            @params = new[] { function },
        })).ShouldSucceedAsync();
        return [.. result.GetProperty("rows").EnumerateArray()];
    }

    /// <summary>Polls until the rows satisfy <paramref name="enough"/> (up to 40 s), and returns them.</summary>
    public static async Task<List<JsonElement>> WaitForAsync(HttpClient admin, string function, Func<List<JsonElement>, bool> enough)
    {
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (true)
        {
            var rows = await ReadAsync(admin, function);
            if (enough(rows))
            {
                return rows;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException($"the cron runs of {function} never got there; have {rows.Count}: {string.Join(", ", rows)}");
            }

            await Task.Delay(200);
        }
    }

    public static long Tick(JsonElement row) => (long)row.GetProperty("tick").GetDouble();

    /// <summary>The ticks that ran, in order (a tick that ran twice is there twice).</summary>
    public static List<long> Ticks(IEnumerable<JsonElement> rows) => [.. rows.Select(Tick).Order()];
}
