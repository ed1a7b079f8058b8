using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Isola.Host.Tests.Infrastructure;
using Npgsql;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// Two <c>isola serve</c> processes on one PostgreSQL database: <c>kill -9</c> of the node running a delivery, and
/// the other node delivers it once the dead node's lease runs out, with nothing lost.
/// </summary>
public sealed class DeliveryNodeKillTests
{
    [Fact]
    public async Task Killing_the_node_running_a_delivery_leaves_it_to_the_other_node_and_loses_nothing()
    {
        using var scratchA = TestEnvironment.Scratch("evnode-a");
        using var scratchB = TestEnvironment.Scratch("evnode-b");
        var database = await SharedPostgres.CreateDatabaseAsync();
        var adminKey = "isola_sk_test_" + Guid.NewGuid().ToString("N");
        var environment = new Dictionary<string, string>
        {
            ["ISOLA_DATABASE_URL"] = database,
            ["ISOLA_MASTER_KEY"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["ISOLA_ADMIN_KEY"] = adminKey,
            // A short lease, so the survivor takes over within seconds of the kill.
            ["ISOLA_DELIVERY_LEASE"] = "1500ms",
        };
        await using var nodeA = IsolaProcess.Start(scratchA.Path, environment);
        using var adminA = Admin(await nodeA.WaitReadyAsync(), adminKey);
        // The second node starts once the first has migrated and provisioned the database.
        await using var nodeB = IsolaProcess.Start(scratchB.Path, environment);
        using var adminB = Admin(await nodeB.WaitReadyAsync(), adminKey);
        await (await adminA.PostAsJsonAsync("/v1/default/db/migrations", new { name = "001_seen", sql = TestEnvironment.Fixture("triggers/001_seen.sql") }))
            .ShouldSucceedAsync(201);
        var eventName = TriggerFixture.Unique("node-kill");
        var function = TriggerFixture.Unique("ev-node-kill");
        await TriggerFixture.DeployToAsync(adminA, function, [new { type = "event", eventName, backoffMs = 20 }]);

        // One delivery that sleeps through attempt 1, and others around it, published through both nodes.
        var slow = await TriggerFixture.PublishToAsync(adminA, eventName, new { sleepMs = 60_000 });
        var quick = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            quick.Add(await TriggerFixture.PublishToAsync(i % 2 == 0 ? adminA : adminB, eventName, new { n = i }));
        }

        await TriggerFixture.WaitForSeenAsync(adminA, function, s => s.Any(e => e.GetProperty("id").GetString() == slow), "the slow delivery starting",
            TimeSpan.FromSeconds(60));
        var holder = await LeaseHolderAsync(database, slow);
        var (victim, survivor, survivorAdmin) = holder.Contains($"-{nodeA.Pid}-", StringComparison.Ordinal)
            ? (nodeA, nodeB, adminB)
            : (nodeB, nodeA, adminA);
        Assert.Contains($"-{victim.Pid}-", holder);
        await victim.KillHardAsync();

        // The survivor runs it again after the lease: attempt 2, which does not sleep.
        var seen = await TriggerFixture.WaitForSeenAsync(survivorAdmin, function,
            s => s.Any(e => e.GetProperty("id").GetString() == slow && e.GetProperty("attempt").GetInt32() == 2) &&
                 quick.All(id => s.Any(e => e.GetProperty("id").GetString() == id)),
            "the slow delivery's second attempt and every other event", TimeSpan.FromSeconds(60));
        Assert.Equal([1, 2], seen.Where(e => e.GetProperty("id").GetString() == slow).Select(e => e.GetProperty("attempt").GetInt32()));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await CountAsync(connection, "select count(*) from isola.deliveries") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "deliveries were left behind");
            await Task.Delay(100);
        }

        Assert.Equal(0, await CountAsync(connection, "select count(*) from isola.deliveries where state = 'dead'"));
        Assert.DoesNotContain("Unhandled exception", survivor.Output);
    }

    private static HttpClient Admin(Uri url, string key)
    {
        var client = new HttpClient { BaseAddress = url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>The node id holding the lease of the event's delivery (the node ids carry their process id).</summary>
    private static async Task<string> LeaseHolderAsync(string database, string eventId)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select leased_by from isola.deliveries where event_id = $1 and state = 'running'", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        return (string)(await command.ExecuteScalarAsync() ?? throw new Xunit.Sdk.XunitException("the slow delivery is not running"));
    }

    private static async Task<long> CountAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
