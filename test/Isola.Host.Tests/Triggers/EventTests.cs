using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// Events (T2, T3) end to end on one node: published through the API, delivered to real functions in real
/// workers, retried, dead-lettered and redelivered; the rows are in the node's real PostgreSQL.
/// </summary>
public sealed class EventTests(TriggerFixture fixture) : IClassFixture<TriggerFixture>
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task A_published_event_reaches_every_subscriber_with_its_payload_in_both_shapes()
    {
        var eventName = TriggerFixture.Unique("order.created");
        var plain = TriggerFixture.Unique("ev-plain");
        var molnos = TriggerFixture.Unique("ev-molnos");
        await fixture.DeployAsync(plain, [new { type = "event", eventName }]);
        await fixture.DeployAsync(molnos, [new { type = "event", config = new { eventName } }], "triggers/recorder-molnos/index.js");
        var other = TriggerFixture.Unique("ev-other");
        await fixture.DeployAsync(other, [new { type = "event", eventName = eventName + ".not" }]);

        var id = await fixture.PublishAsync(eventName, new { orderId = 42 });

        foreach (var function in new[] { plain, molnos })
        {
            var seen = await fixture.WaitForSeenAsync(function, s => s.Count >= 1, "the event");
            var payload = Assert.Single(seen);
            Assert.Equal("event", payload.GetProperty("type").GetString());
            Assert.Equal(id, payload.GetProperty("id").GetString());
            Assert.Equal(eventName, payload.GetProperty("name").GetString());
            Assert.Equal(42, payload.GetProperty("data").GetProperty("orderId").GetInt32());
            Assert.Equal(1, payload.GetProperty("attempt").GetInt32());
            Assert.Equal(0, payload.GetProperty("depth").GetInt32());
            Assert.True(DateTimeOffset.TryParse(payload.GetProperty("publishedAt").GetString(), out _));
        }

        // Recorded as event invocations, run as the service caller; the MolnOS handler got the payload as its event and as context.trigger.
        var record = Assert.Single(await LogsAsync(molnos, 1));
        Assert.Equal("event", record.GetProperty("trigger").GetString());
        Assert.Equal(200, record.GetProperty("status").GetInt32());
        await fixture.WaitUntilSettledAsync(plain);
        Assert.Empty(await fixture.SeenAsync(other));

        // An event-only function is not reachable over HTTP.
        var http = await Host.Client.PostAsync($"/v1/default/fn/{plain}", null);
        Assert.Equal(HttpStatusCode.NotFound, http.StatusCode);
    }

    [Fact]
    public async Task A_repeated_id_is_answered_202_with_the_id_and_delivered_once()
    {
        var eventName = TriggerFixture.Unique("dup");
        var function = TriggerFixture.Unique("ev-dup");
        await fixture.DeployAsync(function, [new { type = "event", eventName }]);
        var eventId = "payment-" + Guid.NewGuid().ToString("N");

        Assert.Equal(eventId, await fixture.PublishAsync(eventName, new { n = 1 }, eventId));
        Assert.Equal(eventId, await fixture.PublishAsync(eventName, new { n = 2 }, eventId));
        await fixture.PublishAsync(eventName, new { n = 3 });

        // Once the third is delivered and nothing is pending, a second delivery of the first would have been recorded.
        await fixture.WaitForSeenAsync(function, s => s.Any(e => e.GetProperty("data").GetProperty("n").GetInt32() == 3), "the marker event");
        await fixture.WaitUntilSettledAsync(function);
        var seen = await fixture.SeenAsync(function);
        Assert.Equal([1, 3], seen.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()).Order());
    }

    [Fact]
    public async Task A_failing_delivery_is_retried_with_a_growing_attempt_until_it_succeeds()
    {
        var eventName = TriggerFixture.Unique("flaky");
        var throws = TriggerFixture.Unique("ev-throws");
        var answers503 = TriggerFixture.Unique("ev-503");
        await fixture.DeployAsync(throws, [new { type = "event", eventName, maxAttempts = 4, backoffMs = 20 }]);
        await fixture.DeployAsync(answers503, [new { type = "event", eventName, config = new { maxAttempts = 4, backoffMs = 20 } }], "triggers/recorder-molnos/index.js");

        await fixture.PublishAsync(eventName, new { failUntilAttempt = 3 });

        foreach (var function in new[] { throws, answers503 })
        {
            var seen = await fixture.WaitForSeenAsync(function, s => s.Count >= 3, "three attempts");
            Assert.Equal([1, 2, 3], seen.Select(e => e.GetProperty("attempt").GetInt32()));
            await fixture.WaitUntilSettledAsync(function);
            Assert.Equal(3, (await fixture.SeenAsync(function)).Count);
        }

        Assert.DoesNotContain(await fixture.DeadAsync(), d => d.GetProperty("function").GetString() == throws || d.GetProperty("function").GetString() == answers503);
        Assert.Equal(["FUNCTION_ERROR", "FUNCTION_ERROR", null],
            (await LogsAsync(throws, 3)).Reverse().Select(i => i.GetProperty("error").ValueKind == JsonValueKind.Null ? null : i.GetProperty("error").GetProperty("code").GetString()));
    }

    [Fact]
    public async Task After_max_attempts_a_delivery_is_dead_lettered_and_a_retry_redelivers_it()
    {
        var eventName = TriggerFixture.Unique("doomed");
        var function = TriggerFixture.Unique("ev-doomed");
        await fixture.DeployAsync(function, [new { type = "event", eventName, maxAttempts = 2, backoffMs = 10 }]);
        var eventId = await fixture.PublishAsync(eventName, new { status = 500, note = "dead letter" });

        await fixture.WaitForSeenAsync(function, s => s.Count >= 2, "both attempts");
        var dead = await WaitForDeadAsync(function);
        Assert.Equal("event", dead.GetProperty("kind").GetString());
        Assert.Equal(2, dead.GetProperty("attempts").GetInt32());
        Assert.Contains("500", dead.GetProperty("lastError").GetString());
        Assert.Equal(eventId, dead.GetProperty("event").GetProperty("id").GetString());
        Assert.Equal(eventName, dead.GetProperty("event").GetProperty("name").GetString());
        Assert.Equal("dead letter", dead.GetProperty("event").GetProperty("data").GetProperty("note").GetString());
        Assert.Equal(2, (await fixture.SeenAsync(function)).Count); // no third attempt

        // The bug is fixed (a new version), then the dead letter is retried: delivered again, attempt 1, and gone from the list.
        await (await Host.Client.PutAsJsonAsync($"/v1/default/functions/{function}", new { envVars = new Dictionary<string, string> { ["FIXED"] = "1" } })).ShouldSucceedAsync();
        await WaitForVersionAsync(function, 2);
        var deadId = dead.GetProperty("id").GetString();
        var retried = await (await Host.Client.PostAsync($"/v1/default/events/dead/{deadId}/retry", null)).ShouldSucceedAsync(202);
        Assert.True(retried.GetProperty("retried").GetBoolean());
        var seen = await fixture.WaitForSeenAsync(function, s => s.Count >= 3, "the redelivery");
        Assert.Equal(1, seen[2].GetProperty("attempt").GetInt32());
        Assert.Equal(eventId, seen[2].GetProperty("id").GetString());
        await fixture.WaitUntilSettledAsync(function);
        Assert.DoesNotContain(await fixture.DeadAsync(), d => d.GetProperty("function").GetString() == function);

        // Retrying it again finds nothing: it was delivered.
        await (await Host.Client.PostAsync($"/v1/default/events/dead/{deadId}/retry", null)).ShouldFailAsync(404, "NOT_FOUND");
    }

    [Fact]
    public async Task Killing_the_worker_mid_delivery_fails_that_attempt_and_the_retry_delivers()
    {
        var eventName = TriggerFixture.Unique("killed");
        var function = TriggerFixture.Unique("ev-killed");
        await fixture.DeployAsync(function, [new { type = "event", eventName, backoffMs = 20 }]);
        await fixture.PublishAsync(eventName, new { sleepMs = 60_000 });

        // Attempt 1 is under way (recorded, now sleeping): SIGKILL its worker.
        await fixture.WaitForSeenAsync(function, s => s.Count >= 1, "attempt 1 starting");
        var deployed = await Host.Server.Services.GetRequiredService<Isola.Host.Functions.DeployedFunctionCache>().FindAsync("default", function, CancellationToken.None);
        var worker = Assert.Single(Host.Server.Services.GetRequiredService<Isola.Host.Workers.WorkerSupervisor>().WorkersOf(deployed!.Id));
        System.Diagnostics.Process.GetProcessById(worker.Pid).Kill();

        var seen = await fixture.WaitForSeenAsync(function, s => s.Count >= 2, "the retry");
        Assert.Equal([1, 2], seen.Select(e => e.GetProperty("attempt").GetInt32()));
        await fixture.WaitUntilSettledAsync(function);
        var records = await LogsAsync(function, 2);
        Assert.Equal("WORKER_CRASHED", records[^1].GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(200, records[0].GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Publishing_bad_input_gets_a_400_naming_the_field()
    {
        var missing = await (await Host.Client.PostAsJsonAsync("/v1/default/events", new { data = new { x = 1 } })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("name", missing.GetProperty("field").GetString());
        Assert.StartsWith("name is required", missing.GetProperty("message").GetString());

        var badName = await (await Host.Client.PostAsJsonAsync("/v1/default/events", new { name = "has spaces" })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("name", badName.GetProperty("field").GetString());
        var unknown = await (await Host.Client.PostAsJsonAsync("/v1/default/events", new { name = "a", payload = 1 })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("payload", unknown.GetProperty("field").GetString());
        var badId = await (await Host.Client.PostAsJsonAsync("/v1/default/events", new { name = "a", id = 7 })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("id", badId.GetProperty("field").GetString());
        var huge = await (await Host.Client.PostAsJsonAsync("/v1/default/events", new { name = "a", data = new string('x', 260 * 1024) })).ShouldFailAsync(413, "PAYLOAD_TOO_LARGE");
        Assert.Contains("data", huge.GetProperty("message").GetString());
        var nul = await (await Host.Client.PostAsJsonAsync("/v1/default/events", new { name = "a", data = new { text = "a\u0000b" } })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("data", nul.GetProperty("field").GetString());
        await (await Host.Client.PostAsJsonAsync("/v1/no-such-app/events", new { name = "a" })).ShouldFailAsync(404, "APP_NOT_FOUND");
        await (await Host.Client.PostAsync("/v1/default/events/dead/12x/retry", null)).ShouldFailAsync(404, "NOT_FOUND");
        await (await Host.Anonymous.PostAsJsonAsync("/v1/default/events", new { name = "a" })).ShouldFailAsync(401, "AUTH_REQUIRED");
    }

    [Fact]
    public async Task Publishing_needs_the_events_publish_permission()
    {
        async Task<HttpClient> KeyAsync(params string[] permissions)
        {
            var key = await (await Host.Client.PostAsJsonAsync("/v1/keys", new { name = "events", permissions, app = "default" })).ShouldSucceedAsync(201);
            var client = new HttpClient { BaseAddress = Host.Url };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.GetProperty("key").GetString());
            return client;
        }

        using var reader = await KeyAsync("functions.read");
        var refused = await (await reader.PostAsJsonAsync("/v1/default/events", new { name = "a" })).ShouldFailAsync(403, "FORBIDDEN");
        Assert.Contains("events.publish", refused.GetProperty("message").GetString());
        using var publisher = await KeyAsync("events.publish");
        await (await publisher.PostAsJsonAsync("/v1/default/events", new { name = "a" })).ShouldSucceedAsync(202);
    }

    [Theory]
    [InlineData("""{"type": "event", "eventName": "a", "maxAttempts": 0}""", "triggers[0].maxAttempts")]
    [InlineData("""{"type": "event", "eventName": "a", "maxAttempts": 2.5}""", "triggers[0].maxAttempts")]
    [InlineData("""{"type": "event", "eventName": "a", "config": {"maxAttempts": "3"}}""", "triggers[0].config.maxAttempts")]
    [InlineData("""{"type": "event", "eventName": "a", "backoffMs": -1}""", "triggers[0].backoffMs")]
    [InlineData("""{"type": "event", "eventName": "a", "config": {"backoffMs": 3600001}}""", "triggers[0].config.backoffMs")]
    [InlineData("""{"type": "event", "eventName": "a", "maxAttempts": 2, "config": {"maxAttempts": 3}}""", "triggers[0].maxAttempts")]
    [InlineData("""{"type": "http", "maxAttempts": 2}""", "triggers[0].maxAttempts")]
    public async Task A_bad_retry_setting_on_a_trigger_is_a_400_naming_it(string trigger, string field)
    {
        var body = $$"""{"name": "{{TriggerFixture.Unique("bad-retry")}}", "code": "export default () => new Response('x')", "triggers": [{{trigger}}]}""";
        var response = await Host.Client.PostAsync("/v1/default/functions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var error = await response.ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal(field, error.GetProperty("field").GetString());
        Assert.StartsWith(field, error.GetProperty("message").GetString());
    }

    /// <summary>The invocation records of <paramref name="function"/>, newest first, once there are <paramref name="count"/> (they land in batches).</summary>
    private async Task<IReadOnlyList<JsonElement>> LogsAsync(string function, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var logs = await (await Host.Client.GetAsync($"/v1/default/functions/{function}/logs")).ShouldSucceedAsync();
            var records = logs.GetProperty("invocations").EnumerateArray().ToList();
            if (records.Count >= count)
            {
                return records;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{function} has {records.Count} invocation records, not {count}");
            await Task.Delay(100);
        }
    }

    /// <summary>Until this node's registry has seen the update (its NOTIFY lands a moment after the PUT answers).</summary>
    private async Task WaitForVersionAsync(string function, int version)
    {
        var registry = Host.Server.Services.GetRequiredService<Isola.Host.Functions.DeployedFunctionCache>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while ((await registry.FindAsync("default", function, CancellationToken.None))?.Version != version)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the registry never saw version {version} of {function}");
            await Task.Delay(20);
        }
    }

    private async Task<JsonElement> WaitForDeadAsync(string function)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var dead = (await fixture.DeadAsync()).FirstOrDefault(d => d.GetProperty("function").GetString() == function);
            if (dead.ValueKind == JsonValueKind.Object)
            {
                return dead;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{function} was never dead-lettered");
            await Task.Delay(50);
        }
    }
}
