using System.Net.Http.Json;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Isola.Host.Tests.Data;

/// <summary>Every app has its own database: <c>default</c> at first start, new apps when created, older apps at the next start.</summary>
public sealed class AppDatabaseProvisioningTests
{
    [Fact]
    public async Task Default_new_and_pre_existing_apps_each_get_their_own_database_with_supabase_roles()
    {
        var options = TestHost.NewOptions(await SharedPostgres.CreateDatabaseAsync());
        try
        {
            AppDatabaseNames names;
            await using (var host = await TestHost.StartAsync(options, ownsDataDir: false))
            {
                names = host.Server.Services.GetRequiredService<AppDatabaseNames>();
                Assert.True(await DatabaseExistsAsync(host, names.Database("default")));
                await (await host.Client.PostAsJsonAsync("/v1/apps", new { id = "shop-eu" })).ShouldSucceedAsync(201);
                Assert.True(await DatabaseExistsAsync(host, names.Database("shop-eu")));
                // An app recorded before app databases existed (an upgrade): no database yet.
                await using var platform = await host.OpenDatabaseAsync();
                await using var insert = new NpgsqlCommand("insert into isola.apps (id) values ('legacy')", platform);
                await insert.ExecuteNonQueryAsync();
                Assert.False(await DatabaseExistsAsync(host, names.Database("legacy")));
            }

            await using (var restarted = await TestHost.StartAsync(options, ownsDataDir: false))
            {
                Assert.True(await DatabaseExistsAsync(restarted, names.Database("legacy")));
                var executor = restarted.Server.Services.GetRequiredService<SqlExecutor>();
                foreach (var (caller, role) in new[] { (DbCaller.Anon, "anon"), (DbCaller.User("aaaaaaaa-0000-4000-8000-000000000001"), "authenticated"), (DbCaller.Service, "service_role") })
                {
                    var result = await executor.ExecuteAsync("legacy", caller, "select current_user as r, current_database() as db", [], DateTimeOffset.UtcNow.AddSeconds(30), CancellationToken.None);
                    Assert.Equal(role, (string)result.Rows.Single()["r"]!);
                    Assert.Equal(names.Database("legacy"), (string)result.Rows.Single()["db"]!);
                }

                await using var platform = await restarted.OpenDatabaseAsync();
                await using var roles = new NpgsqlCommand("""
                    select rolname, rolcanlogin, rolinherit, rolbypassrls from pg_roles
                    where rolname in ('anon', 'authenticated', 'service_role') order by rolname
                    """, platform);
                await using var reader = await roles.ExecuteReaderAsync();
                var seen = new List<string>();
                while (await reader.ReadAsync())
                {
                    seen.Add($"{reader.GetString(0)} login={reader.GetBoolean(1)} inherit={reader.GetBoolean(2)} bypassrls={reader.GetBoolean(3)}");
                }

                Assert.Equal(
                    ["anon login=False inherit=False bypassrls=False", "authenticated login=False inherit=False bypassrls=False", "service_role login=False inherit=False bypassrls=True"],
                    seen);
            }
        }
        finally
        {
            TestEnvironment.DeleteScratch(options.DataDir);
        }
    }

    [Fact]
    public async Task Only_the_apps_own_logins_may_connect_to_its_database()
    {
        await using var host = await TestHost.StartAsync();
        var names = host.Server.Services.GetRequiredService<AppDatabaseNames>();
        await using var platform = await host.OpenDatabaseAsync();
        await using var acl = new NpgsqlCommand("select datacl::text[] from pg_database where datname = $1", platform);
        acl.Parameters.Add(new NpgsqlParameter { Value = names.Database("default") });
        var entries = (string[])(await acl.ExecuteScalarAsync())!;
        // No "=c/..." entry (PUBLIC), and CONNECT only for the app's four logins besides the owner.
        Assert.DoesNotContain(entries, entry => entry.StartsWith('='));
        var grantees = entries.Select(entry => entry.Split('=')[0].Trim('"')).Where(g => g != names.Owner("default")).Order().ToList();
        Assert.Equal(names.Logins("default").Order().ToList(), grantees);
    }

    private static async Task<bool> DatabaseExistsAsync(TestHost host, string database)
    {
        await using var connection = await host.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand("select 1 from pg_database where datname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        return await command.ExecuteScalarAsync() is not null;
    }
}
