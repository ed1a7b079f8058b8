using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Deliveries;
using Isola.Host.Events;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// <c>ctx.events.emit</c> from real functions: every handler shape, chain depth (T3), and the tie to
/// <c>ctx.db.transaction</c> (decision 018), including a node that died between COMMIT and the release.
/// </summary>
public sealed class EmitTests(TriggerFixture fixture) : IClassFixture<TriggerFixture>
{
    private TestHost Host => fixture.Host;

    [Theory]
    [InlineData("default", "export default async (req, ctx) => Response.json({ id: await ctx.events.emit(EVENT, { from: 'default' }) });")]
    [InlineData("deno-serve", "Deno.serve(async (req, info) => Response.json({ id: await info.events.emit(EVENT, { from: 'deno-serve' }) }));")]
    [InlineData("molnos", "async function handler(request, context) { return { statusCode: 200, body: { id: await context.events.emit(EVENT, { from: 'molnos' }) } }; }")]
    public async Task Every_handler_shape_can_emit_and_the_event_reaches_its_subscriber(string shape, string code)
    {
        var eventName = TriggerFixture.Unique("emitted");
        var subscriber = TriggerFixture.Unique("sub-" + shape);
        await fixture.DeployAsync(subscriber, [new { type = "event", eventName }]);
        var emitter = TriggerFixture.Unique("emit-" + shape);
        await fixture.DeployCodeAsync(emitter, code.Replace("EVENT", $"'{eventName}'", StringComparison.Ordinal));

        var answer = await (await Host.Client.PostAsync($"/v1/default/fn/{emitter}", null)).ShouldSucceedAsync();
        var seen = await fixture.WaitForSeenAsync(subscriber, s => s.Count >= 1, "the emitted event");
        Assert.Equal(answer.GetProperty("id").GetString(), seen[0].GetProperty("id").GetString());
        Assert.Equal(shape, seen[0].GetProperty("data").GetProperty("from").GetString());
        Assert.Equal(0, seen[0].GetProperty("depth").GetInt32()); // emitted outside any event: a new chain
    }

    [Fact]
    public async Task A_function_that_re_emits_its_own_event_is_stopped_at_the_chain_limit()
    {
        var eventName = TriggerFixture.Unique("loop");
        var looper = TriggerFixture.Unique("looper");
        await fixture.DeployAsync(looper, [new { type = "event", eventName }]);

        await fixture.PublishAsync(eventName, new { reemit = true });

        // Depths 0 to 8 run (the default limit is 8); the emit at depth 8 is refused with the code, and nothing runs after.
        var seen = await fixture.WaitForSeenAsync(looper, s => s.Any(e => e.GetProperty("type").GetString() == "refused"), "the refusal");
        await fixture.WaitUntilSettledAsync(looper);
        seen = await fixture.SeenAsync(looper);
        Assert.Equal(Enumerable.Range(0, 9), seen.Where(e => e.GetProperty("type").GetString() == "event").Select(e => e.GetProperty("depth").GetInt32()));
        var refused = Assert.Single(seen, e => e.GetProperty("type").GetString() == "refused");
        Assert.Equal("EVENT_CHAIN_TOO_DEEP", refused.GetProperty("code").GetString());
        Assert.Equal(8, refused.GetProperty("depth").GetInt32());
    }

    [Fact]
    public async Task An_app_can_set_its_own_chain_limit()
    {
        var app = TriggerFixture.Unique("chains");
        await (await Host.Client.PostAsJsonAsync("/v1/apps", new { id = app })).ShouldSucceedAsync(201);
        await fixture.AddSeenTableAsync(app);
        Assert.Equal(8, (await (await Host.Client.GetAsync($"/v1/apps/{app}/events")).ShouldSucceedAsync()).GetProperty("chainLimit").GetInt32());
        var set = await (await Host.Client.PutAsJsonAsync($"/v1/apps/{app}/events", new { chainLimit = 2 })).ShouldSucceedAsync();
        Assert.Equal(2, set.GetProperty("chainLimit").GetInt32());
        var bad = await (await Host.Client.PutAsJsonAsync($"/v1/apps/{app}/events", new { chainLimit = -1 })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("chainLimit", bad.GetProperty("field").GetString());

        var eventName = TriggerFixture.Unique("loop");
        var looper = TriggerFixture.Unique("looper");
        await fixture.DeployAsync(looper, [new { type = "event", eventName }], app: app);
        await fixture.PublishAsync(eventName, new { reemit = true }, app: app);

        var seen = await fixture.WaitForSeenAsync(looper, s => s.Any(e => e.GetProperty("type").GetString() == "refused"), "the refusal", app);
        Assert.Equal([0, 1, 2], seen.Where(e => e.GetProperty("type").GetString() == "event").Select(e => e.GetProperty("depth").GetInt32()));
        Assert.Equal(2, seen.Single(e => e.GetProperty("type").GetString() == "refused").GetProperty("depth").GetInt32());

        // null restores the default.
        Assert.Equal(8, (await (await Host.Client.PutAsJsonAsync($"/v1/apps/{app}/events", new { chainLimit = (int?)null })).ShouldSucceedAsync())
            .GetProperty("chainLimit").GetInt32());
    }

    [Fact]
    public async Task An_event_emitted_inside_a_rolled_back_transaction_is_never_delivered_and_a_committed_one_is()
    {
        var eventName = TriggerFixture.Unique("tx");
        var subscriber = TriggerFixture.Unique("tx-sub");
        await fixture.DeployAsync(subscriber, [new { type = "event", eventName }]);
        var emitter = TriggerFixture.Unique("tx-emit");
        await fixture.DeployAsync(emitter, [new { type = "http" }]);

        await (await Host.Client.PostAsJsonAsync($"/v1/default/fn/{emitter}", new { emit = new { name = eventName, data = new { end = "rollback" }, inTransaction = "rollback" } }))
            .ShouldSucceedAsync();
        await (await Host.Client.PostAsJsonAsync($"/v1/default/fn/{emitter}", new { emit = new { name = eventName, data = new { end = "commit" }, inTransaction = "commit" } }))
            .ShouldSucceedAsync();

        // The committed one arrives; once nothing is pending, the rolled-back one would have too.
        await fixture.WaitForSeenAsync(subscriber, s => s.Count >= 1, "the committed event");
        await fixture.WaitUntilSettledAsync(subscriber);
        var seen = Assert.Single(await fixture.SeenAsync(subscriber));
        Assert.Equal("commit", seen.GetProperty("data").GetProperty("end").GetString());

        // The transactions did what they said: only the committed one's own row is there, and nothing is left held.
        var own = await fixture.SeenAsync(emitter);
        Assert.Equal(["commit"], own.Where(e => e.GetProperty("type").GetString() == "in-transaction").Select(e => e.GetProperty("end").GetString()));
        await using var db = await Host.OpenDatabaseAsync();
        await using var held = new NpgsqlCommand("select count(*) from isola.events where name = $1", db);
        held.Parameters.Add(new NpgsqlParameter { Value = eventName });
        Assert.Equal(1L, await held.ExecuteScalarAsync()); // the rolled-back event's row went with its transaction
    }

    [Fact]
    public async Task Rows_held_for_a_transaction_whose_node_died_are_settled_from_the_transactions_status()
    {
        // What a node leaves behind when it dies between the app's COMMIT (or ROLLBACK) and releasing the rows:
        // held rows, and a transaction only PostgreSQL remembers the end of.
        var eventName = TriggerFixture.Unique("orphan");
        var subscriber = TriggerFixture.Unique("orphan-sub");
        await fixture.DeployAsync(subscriber, [new { type = "event", eventName }]);
        var publisher = Host.Server.Services.GetRequiredService<EventPublisher>();
        var names = Host.Server.Services.GetRequiredService<Isola.Host.Data.AppDatabases.AppDatabaseNames>();
        var appDb = new NpgsqlConnectionStringBuilder(Host.ConnectionString) { Database = names.Database("default"), Pooling = false }.ConnectionString;

        async Task<string> HoldAsync(string end)
        {
            await using var connection = new NpgsqlConnection(appDb);
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using var xidQuery = new NpgsqlCommand("select pg_current_xact_id()::text", connection, transaction);
            var xid = (string)(await xidQuery.ExecuteScalarAsync())!;
            var published = await publisher.PublishAsync("default", null, eventName, JsonSerializer.Serialize(new { end }), 0, xid, CancellationToken.None);
            Assert.Equal(EventPublisher.Outcome.Published, published.Outcome);
            if (end == "commit")
            {
                await transaction.CommitAsync();
            }
            else
            {
                await transaction.RollbackAsync();
            }

            return published.Id;
        }

        var committed = await HoldAsync("commit");
        var rolledBack = await HoldAsync("rollback");
        await using var db = await Host.OpenDatabaseAsync();
        // Age the holds past HoldCheckAfter instead of waiting it out.
        await using (var age = new NpgsqlCommand("""
            with deliveries as (update isola.deliveries set created_at = created_at - interval '1 hour' where event_id = any($1))
            update isola.events set published_at = published_at - interval '1 hour' where id = any($1)
            """, db))
        {
            age.Parameters.Add(new NpgsqlParameter { Value = new[] { committed, rolledBack } });
            await age.ExecuteNonQueryAsync();
        }

        Assert.Empty(await fixture.SeenAsync(subscriber)); // held: nobody delivers it yet
        await Host.Server.Services.GetRequiredService<DeliveryMaintenance>().RunOnceAsync(CancellationToken.None);

        var seen = await fixture.WaitForSeenAsync(subscriber, s => s.Count >= 1, "the committed event");
        await fixture.WaitUntilSettledAsync(subscriber);
        Assert.Equal(committed, Assert.Single(await fixture.SeenAsync(subscriber)).GetProperty("id").GetString());
        await using var left = new NpgsqlCommand("select count(*) from isola.events where id = $1", db);
        left.Parameters.Add(new NpgsqlParameter { Value = rolledBack });
        Assert.Equal(0L, await left.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Emitting_bad_input_is_an_error_in_the_function()
    {
        var emitter = TriggerFixture.Unique("bad-emit");
        await fixture.DeployCodeAsync(emitter, """
            export default async (req, ctx) => {
              const errors = [];
              for (const name of ["has space", 42, ""]) {
                try { await ctx.events.emit(name, {}); } catch (e) { errors.push(e.code ?? e.name); }
              }
              try { await ctx.events.emit("ok", "x".repeat(300 * 1024)); } catch (e) { errors.push(e.code); }
              return Response.json(errors);
            };
            """);
        var errors = await (await Host.Client.PostAsync($"/v1/default/fn/{emitter}", null)).ShouldSucceedAsync();
        Assert.Equal(["INVALID_ARGS", "TypeError", "TypeError", "PAYLOAD_TOO_LARGE"], errors.EnumerateArray().Select(e => e.GetString()));
    }
}
