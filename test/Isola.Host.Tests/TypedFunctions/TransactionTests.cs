using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.TypedFunctions;

/// <summary>
/// Transactions (R3): a mutation is one transaction that a throw rolls back and that is retried when concurrent
/// mutations conflict; a query is read-only.
/// </summary>
[Collection(TypedCollection.Name)]
public sealed class TransactionTests(TypedFixture fixture)
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task A_mutation_that_throws_after_an_insert_leaves_nothing_behind()
    {
        using var a = await fixture.UserAsync(fixture.UserA);
        var body = "rolled back " + Guid.NewGuid().ToString("N");

        var failed = await (await TypedFixture.CallAsync(a, "addNote", new { body, fail = true })).ShouldFailAsync(500, "FUNCTION_ERROR");
        Assert.Contains("invocation log", failed.GetProperty("message").GetString());
        Assert.Empty((await fixture.RunAsync("select id from notes where body = $1", body)).Rows);

        // The same mutation without the throw commits.
        await (await TypedFixture.CallAsync(a, "addNote", new { body })).ShouldSucceedAsync();
        Assert.Single((await fixture.RunAsync("select id from notes where body = $1", body)).Rows);
    }

    [Fact]
    public async Task A_scheduler_call_inside_a_rolled_back_mutation_never_runs()
    {
        var rolledBack = "rolled-back-" + Guid.NewGuid().ToString("N")[..8];
        var committed = "committed-" + Guid.NewGuid().ToString("N")[..8];

        await (await TypedFixture.CallAsync(Host.Anonymous, "scheduleThenFail", new { marker = rolledBack, fail = true })).ShouldFailAsync(500, "FUNCTION_ERROR");
        await (await TypedFixture.CallAsync(Host.Anonymous, "scheduleThenFail", new { marker = committed, fail = false })).ShouldSucceedAsync();

        // The committed one runs; the rolled-back one, scheduled first for the same moment, would have run by then.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await fixture.RunAsync("select 1 from scheduled_runs where marker = $1", committed)).Rows.Count == 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the call scheduled by the committed mutation did not run within 30 s");
            await Task.Delay(100);
        }

        Assert.Empty((await fixture.RunAsync("select 1 from scheduled_runs where marker = $1", rolledBack)).Rows);
        await using var db = await Host.OpenDatabaseAsync();
        await using var held = new Npgsql.NpgsqlCommand("select count(*) from isola.deliveries where args ->> 'marker' = $1", db);
        held.Parameters.AddWithValue(rolledBack);
        Assert.Equal(0L, (long)(await held.ExecuteScalarAsync())!); // not even held: dropped with the rollback
    }

    [Fact]
    public async Task A_query_that_writes_fails_whether_through_entities_or_sql()
    {
        var entity = await (await TypedFixture.CallAsync(Host.Anonymous, "writeInQuery")).ShouldSucceedAsync();
        Assert.Contains("a query is read-only", entity.GetProperty("entity").GetString());

        // SQL reaches PostgreSQL, which refuses it in the query's read-only transaction; uncaught, it fails the call.
        var failed = await TypedFixture.CallAsync(Host.Anonymous, "sqlWriteInQuery");
        await failed.ShouldFailAsync(500, "FUNCTION_ERROR");
        await InvocationLogs.WaitForAsync(Host, "sqlWriteInQuery", failed.Headers.GetValues("x-isola-invocation-id").Single(),
            record => record.GetRawText().Contains("cannot execute INSERT in a read-only transaction", StringComparison.Ordinal));
        Assert.Empty((await fixture.RunAsync("select id from rooms where name = 'written by a query'")).Rows);
    }

    [Fact]
    public async Task Concurrent_mutations_that_conflict_are_retried_and_none_is_lost()
    {
        var name = "hits-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.RunAsync("insert into counters (name, value) values ($1, 0)", name);

        // Each reads the counter then writes it + 1: under serializable isolation, overlapping ones conflict (40001).
        const int calls = 8;
        var results = await Task.WhenAll(Enumerable.Range(0, calls).Select(_ => TypedFixture.CallAsync(Host.Anonymous, "bump", new { name })));
        foreach (var result in results)
        {
            await result.ShouldSucceedAsync();
        }

        Assert.Equal((long)calls, (await fixture.RunAsync("select value from counters where name = $1", name)).Rows[0]["value"]!.GetValue<long>());
        var values = await Task.WhenAll(results.Select(async r => (await r.JsonAsync()).GetInt32()));
        Assert.Equal(Enumerable.Range(1, calls), values.Order());

        // They did overlap: the retries are in their invocation logs.
        var retried = 0;
        foreach (var result in results)
        {
            var record = await InvocationLogs.WaitForAsync(Host, "bump", result.Headers.GetValues("x-isola-invocation-id").Single(), _ => true);
            retried += record.GetProperty("logs").EnumerateArray().Count(log => log.GetProperty("msg").GetString()!.Contains("conflicted", StringComparison.Ordinal));
        }

        Assert.True(retried > 0, "no bump was retried: the calls did not overlap, so the test proved nothing");
    }
}
