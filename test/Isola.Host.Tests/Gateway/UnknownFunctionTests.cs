using System.Net;
using System.Net.Http.Json;
using Isola.Host.Functions;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// Calls to names that do not exist: answered 404, remembered within a bound, and forgotten by a deploy; and a lookup
/// that was still loading when its function changed is not kept.
/// </summary>
public sealed class UnknownFunctionTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private TestHost Host => fixture.Host;

    private DeployedFunctionCache Registry => Host.Server.Services.GetRequiredService<DeployedFunctionCache>();

    [Fact]
    public async Task Requests_to_many_random_names_leave_the_miss_cache_bounded()
    {
        const int Names = 3000;
        Assert.True(Names > DeployedFunctionCache.MaxCachedMisses * 2);
        var statuses = new HashSet<HttpStatusCode>();
        // Four callers at a time: bounded load, still concurrent like a scan would be.
        await Parallel.ForEachAsync(Enumerable.Range(0, Names), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        {
            using var response = await Host.Anonymous.GetAsync($"/v1/default/fn/scan-{Guid.NewGuid():N}", ct);
            lock (statuses)
            {
                statuses.Add(response.StatusCode);
            }
        });

        Assert.Equal([HttpStatusCode.NotFound], statuses);
        Assert.InRange(Registry.CachedMisses, 1, DeployedFunctionCache.MaxCachedMisses);
    }

    [Fact]
    public async Task A_repeated_miss_is_404_from_the_cache_and_a_later_deploy_of_that_name_is_seen_at_once()
    {
        var name = "later-" + Guid.NewGuid().ToString("N")[..8];
        await (await Host.Caller.GetAsync($"/v1/default/fn/{name}")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        var lookups = Registry.DatabaseLookups;
        await (await Host.Caller.GetAsync($"/v1/default/fn/{name}")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        Assert.Equal(lookups, Registry.DatabaseLookups); // the second miss cost no query

        await fixture.DeployFixtureAsync(name, "gateway/limits/index.ts");
        Assert.Equal(HttpStatusCode.OK, (await Host.Caller.GetAsync($"/v1/default/fn/{name}/")).StatusCode);
    }

    [Fact]
    public async Task A_lookup_in_flight_when_its_function_changes_is_not_kept_under_the_function_id()
    {
        var name = "inflight-" + Guid.NewGuid().ToString("N")[..8];
        await fixture.DeployFixtureAsync(name, "gateway/limits/index.ts");
        var id = (await Registry.FindAsync("default", name, CancellationToken.None))!.Id.ToString("D");
        Registry.Invalidate("default", name);

        // The lookup by id (how a request retries after a version switch) waits behind a lock on the functions table,
        // so the change notice lands while it is loading, as it can when the lookup read the database just before a deploy.
        var database = Host.Server.Services.GetRequiredService<NpgsqlDataSource>();
        await using var locker = await database.OpenConnectionAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await new NpgsqlCommand("lock table isola.functions in access exclusive mode", locker, transaction).ExecuteNonQueryAsync();
        var inFlight = Registry.FindAsync("default", id, CancellationToken.None).AsTask();
        await WaitForLockWaiterAsync(database);
        Registry.Invalidate("default", name);
        await transaction.CommitAsync();
        Assert.NotNull(await inFlight);

        var lookups = Registry.DatabaseLookups;
        Assert.NotNull(await Registry.FindAsync("default", id, CancellationToken.None));
        Assert.Equal(lookups + 1, Registry.DatabaseLookups); // read again, not the entry that was loading during the change
    }

    private static async Task WaitForLockWaiterAsync(NpgsqlDataSource database)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var waiting = (long)(await database.CreateCommand(
                "select count(*) from pg_locks where not granted and relation = 'isola.functions'::regclass").ExecuteScalarAsync())!;
            if (waiting > 0)
            {
                return;
            }

            await Task.Delay(25);
        }

        Assert.Fail("the lookup never waited for the functions table");
    }

    [Fact]
    public async Task A_name_that_can_never_exist_is_404_without_a_query()
    {
        var lookups = Registry.DatabaseLookups;
        await (await Host.Caller.GetAsync($"/v1/default/fn/{new string('x', 2000)}")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        await (await Host.Caller.GetAsync("/v1/default/fn/has%20space")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        Assert.Equal(lookups, Registry.DatabaseLookups);
    }
}
