using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// A node whose <c>default</c> app has the <c>seen</c> table (test/fixtures/triggers/001_seen.sql), and the
/// helpers event and scheduler tests share: deploy a recorder, publish, read what the functions recorded.
/// </summary>
public sealed class TriggerFixture : IAsyncLifetime
{
    internal TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        // Scheduled calls take the default backoff: short, so their retries take milliseconds.
        Host = await TestHost.StartAsync(options => options with
        {
            Workers = options.Workers with { Prestarted = 1 },
            Deliveries = options.Deliveries with { DefaultBackoffMs = 20 },
        });
        await AddSeenTableAsync("default");
    }

    /// <summary>Creates the <c>seen</c> table in an app's database.</summary>
    internal async Task AddSeenTableAsync(string app) =>
        await (await Host.Client.PostAsJsonAsync($"/v1/{app}/db/migrations", new { name = "001_seen", sql = TestEnvironment.Fixture("triggers/001_seen.sql") }))
            .ShouldSucceedAsync(201);

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>A name no other test uses, for functions and events.</summary>
    internal static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    internal Task DeployAsync(string name, object[] triggers, string fixture = "triggers/recorder/index.ts", object? envVars = null, string app = "default") =>
        DeployToAsync(Host.Client, name, triggers, fixture, envVars, app);

    internal static async Task DeployToAsync(HttpClient admin, string name, object[] triggers, string fixture = "triggers/recorder/index.ts", object? envVars = null,
        string app = "default") =>
        await (await admin.PostAsJsonAsync($"/v1/{app}/functions", new
        {
            name,
            code = TestEnvironment.Fixture(fixture),
            triggers,
            envVars = envVars ?? new { },
            timeoutMs = 60_000,
        })).ShouldSucceedAsync(201);

    /// <summary>Deploys a function of the default app from inline <paramref name="code"/> (an HTTP trigger, the default).</summary>
    internal async Task DeployCodeAsync(string name, string code) =>
        await (await Host.Client.PostAsJsonAsync("/v1/default/functions", new { name, code })).ShouldSucceedAsync(201);

    /// <summary>Publishes through the API and returns the event's id.</summary>
    internal Task<string> PublishAsync(string name, object? data, string? id = null, string app = "default") => PublishToAsync(Host.Client, name, data, id, app);

    internal static async Task<string> PublishToAsync(HttpClient admin, string name, object? data, string? id = null, string app = "default")
    {
        var body = id is null ? (object)new { name, data } : new { name, data, id };
        var published = await (await admin.PostAsJsonAsync($"/v1/{app}/events", body)).ShouldSucceedAsync(202);
        return published.GetProperty("id").GetString()!;
    }

    /// <summary>The ctx.trigger of every invocation of <paramref name="function"/> so far, oldest first.</summary>
    internal Task<IReadOnlyList<JsonElement>> SeenAsync(string function, string app = "default") => SeenAsync(Host.Client, function, app);

    internal static async Task<IReadOnlyList<JsonElement>> SeenAsync(HttpClient admin, string function, string app = "default")
    {
        var result = await (await admin.PostAsJsonAsync($"/v1/{app}/db/query", new
        {
            sql = "select trigger, at from seen where fn = $1 order by id",
            @params = new[] { function },
        })).ShouldSucceedAsync();
        return [.. result.GetProperty("rows").EnumerateArray().Select(row => WithAt(row.GetProperty("trigger"), row.GetProperty("at")))];
    }

    /// <summary>Polls what <paramref name="function"/> recorded until <paramref name="done"/> holds (20 s at most), and returns it.</summary>
    internal Task<IReadOnlyList<JsonElement>> WaitForSeenAsync(string function, Func<IReadOnlyList<JsonElement>, bool> done, string what, string app = "default") =>
        WaitForSeenAsync(Host.Client, function, done, what, app: app);

    internal static async Task<IReadOnlyList<JsonElement>> WaitForSeenAsync(HttpClient admin, string function, Func<IReadOnlyList<JsonElement>, bool> done, string what,
        TimeSpan? timeout = null, string app = "default")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        IReadOnlyList<JsonElement> seen;
        while (!done(seen = await SeenAsync(admin, function, app)))
        {
            if (DateTime.UtcNow > deadline)
            {
                var logs = await (await admin.GetAsync($"/v1/{app}/functions/{function}/logs?limit=5")).Content.ReadAsStringAsync();
                throw new Xunit.Sdk.XunitException($"{function}: never saw {what}; it recorded:\n{string.Join("\n", seen)}\nits last invocations: {logs}");
            }

            await Task.Delay(50);
        }

        return seen;
    }

    /// <summary>Waits until nothing is left to deliver to <paramref name="function"/> (every row delivered or dead).</summary>
    internal async Task WaitUntilSettledAsync(string function)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        await using var db = await Host.OpenDatabaseAsync();
        while (true)
        {
            await using var pending = new Npgsql.NpgsqlCommand("""
                select count(*) from isola.deliveries d join isola.functions f on f.id = d.function_id
                where f.name = $1 and d.state <> 'dead'
                """, db);
            pending.Parameters.Add(new Npgsql.NpgsqlParameter { Value = function });
            if ((long)(await pending.ExecuteScalarAsync())! == 0)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"deliveries to {function} never settled");
            await Task.Delay(50);
        }
    }

    /// <summary>The dead letters of the default app.</summary>
    internal async Task<IReadOnlyList<JsonElement>> DeadAsync() =>
        [.. (await (await Host.Client.GetAsync("/v1/default/events/dead")).ShouldSucceedAsync()).GetProperty("dead").EnumerateArray()];

    private static JsonElement WithAt(JsonElement trigger, JsonElement at)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(trigger.GetRawText())!;
        if (node is System.Text.Json.Nodes.JsonObject obj)
        {
            obj["_at"] = at.GetString();
        }

        return JsonSerializer.SerializeToElement(node);
    }
}
