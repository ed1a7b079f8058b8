using System.Net.Http.Headers;
using System.Net.Http.Json;
using Isola.Host.Hosting;
using Isola.Host.Tests.Infrastructure;
using Npgsql;

namespace Isola.Host.Tests.Hosting;

/// <summary>Start, stop, crash and restart of whole nodes on the embedded PostgreSQL, as a user runs them.</summary>
public sealed class NodeLifecycleTests
{
    private const string Code = "export default () => new Response('hello');";

    [Fact]
    public async Task A_node_killed_with_SIGKILL_starts_again_without_manual_steps_and_keeps_its_data()
    {
        var dataDir = TestEnvironment.CreateScratch("kill");
        try
        {
            var first = IsolaProcess.Start(dataDir);
            var url = await first.WaitReadyAsync();
            Assert.Contains("Admin API key (saved in", first.Output);
            var adminKey = (await File.ReadAllTextAsync(Path.Combine(dataDir, "admin.key"))).Trim();
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, "admin.key")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, "master.key")));
            using (var client = Client(url, adminKey))
            {
                await (await client.PostAsJsonAsync("/v1/default/functions", new { name = "survivor", code = Code })).ShouldSucceedAsync(201);
                await (await client.PutAsJsonAsync("/v1/default/functions/survivor", new { timeoutMs = 1234 })).ShouldSucceedAsync();
            }

            await first.KillHardAsync();
            await WaitForNoWorkersAsync(dataDir); // its pre-started workers notice and exit
            var orphanPid = int.Parse(File.ReadLines(Path.Combine(dataDir, "pg", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(Isola.Host.Data.EmbeddedPostgres.IsPostgresProcess(orphanPid), "PostgreSQL outlives a SIGKILLed host");

            await using var second = IsolaProcess.Start(dataDir);
            var secondUrl = await second.WaitReadyAsync();
            Assert.Contains("Admin API key: in", second.Output); // the key is not printed again
            using (var client = Client(secondUrl, adminKey))
            {
                var function = await (await client.GetAsync("/v1/default/functions/survivor")).ShouldSucceedAsync();
                Assert.Equal(2, function.GetProperty("version").GetInt32());
                Assert.Equal(1234, function.GetProperty("timeoutMs").GetInt32());
                var versions = await (await client.GetAsync("/v1/default/functions/survivor/versions")).ShouldSucceedAsync();
                Assert.Equal(2, versions.GetProperty("versions").GetArrayLength());
            }

            // A second node on the same data dir fails fast and says why.
            await using (var intruder = IsolaProcess.Start(dataDir))
            {
                Assert.Equal(1, await intruder.WaitForExitAsync(TimeSpan.FromSeconds(30)));
                Assert.Contains("already serving the data dir", intruder.Output);
            }

            // SIGTERM stops the node and its PostgreSQL.
            Assert.Equal(0, await second.TerminateAsync());
            Assert.False(File.Exists(Path.Combine(dataDir, "pg", "postmaster.pid")), "PostgreSQL is stopped with the host");
            Assert.False(Isola.Host.Data.EmbeddedPostgres.IsPostgresProcess(orphanPid), "the orphaned PostgreSQL was stopped");
        }
        finally
        {
            TestEnvironment.DeleteScratch(dataDir);
        }
    }

    [Fact]
    public async Task Restart_on_the_embedded_cluster_keeps_functions_versions_and_keys()
    {
        var options = TestHost.NewOptions(databaseUrl: null) with { AdminKey = null };
        string adminKey;
        await using (var first = await TestHost.StartAsync(options, ownsDataDir: false))
        {
            Assert.True(first.Server.AdminKey.Created);
            adminKey = first.Server.AdminKey.Key;
            using var client = Client(first.Url, adminKey);
            await (await client.PostAsJsonAsync("/v1/default/functions", new { name = "kept", code = Code, envVars = new Dictionary<string, string> { ["K"] = "v" } })).ShouldSucceedAsync(201);
            await (await client.PutAsJsonAsync("/v1/default/functions/kept", new { code = "export default () => new Response('v2');" })).ShouldSucceedAsync();
            await (await client.PostAsJsonAsync("/v1/default/functions/kept/rollback", new { version = 1 })).ShouldSucceedAsync();
        }

        // A stale pid file (its process long gone) must not block the next start.
        await File.WriteAllTextAsync(Path.Combine(options.DataDir, "pg", "postmaster.pid"), "999999\n" + Path.Combine(options.DataDir, "pg") + "\n");

        await using var second = await TestHost.StartAsync(options, ownsDataDir: true);
        Assert.False(second.Server.AdminKey.Created);
        Assert.Equal(adminKey, second.Server.AdminKey.Key);
        Assert.Empty(second.Server.MigrationsApplied);
        using var again = Client(second.Url, adminKey);
        var config = await (await again.GetAsync("/v1/default/functions/kept/config")).ShouldSucceedAsync();
        Assert.Equal(1, config.GetProperty("version").GetInt32());
        Assert.Equal(Code, config.GetProperty("code").GetString());
        Assert.Equal(["K"], config.GetProperty("envVars").EnumerateArray().Select(e => e.GetString()!));
        var versions = await (await again.GetAsync("/v1/default/functions/kept/versions")).ShouldSucceedAsync();
        Assert.Equal([2, 1], versions.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
    }

    [Fact]
    public async Task Two_nodes_starting_at_once_on_one_database_migrate_exactly_once()
    {
        var database = await SharedPostgres.CreateDatabaseAsync();
        var first = TestHost.NewOptions(database);
        var a = TestHost.StartAsync(first, ownsDataDir: true);
        var b = TestHost.StartAsync(TestHost.NewOptions(database) with { MasterKey = first.MasterKey }, ownsDataDir: true);
        var nodes = await Task.WhenAll(a, b);
        try
        {
            var expected = Isola.Host.Data.Migrator.LoadEmbedded().Select(m => m.Version).ToArray();
            var applied = nodes.SelectMany(n => n.Server.MigrationsApplied).Order().ToArray();
            Assert.Equal(expected, applied);
            Assert.Contains(nodes, n => n.Server.MigrationsApplied.Count == 0);

            await using var db = await nodes[0].OpenDatabaseAsync();
            await using var rows = new NpgsqlCommand("select count(*) from isola.schema_migrations", db);
            Assert.Equal((long)expected.Length, await rows.ExecuteScalarAsync());
            await using var apps = new NpgsqlCommand("select count(*) from isola.apps where id = 'default'", db);
            Assert.Equal(1L, await apps.ExecuteScalarAsync());
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_second_node_on_a_held_data_dir_fails_fast_in_process_too()
    {
        await using var first = await TestHost.StartAsync();
        var failure = await Assert.ThrowsAsync<StartupException>(() =>
            TestHost.StartAsync(TestHost.NewOptions(first.ConnectionString, first.Options.DataDir), ownsDataDir: false));
        Assert.Contains("already serving the data dir", failure.Message);
    }

    [Fact]
    public async Task Secrets_keys_and_tokens_never_reach_the_host_log()
    {
        var dataDir = TestEnvironment.CreateScratch("log");
        try
        {
            await using var node = IsolaProcess.Start(dataDir, new Dictionary<string, string> { ["ISOLA_LOG_LEVEL"] = "Debug" });
            var url = await node.WaitReadyAsync();
            using var admin = Client(url, (await File.ReadAllTextAsync(Path.Combine(dataDir, "admin.key"))).Trim());
            const string secretValue = "env-secret-5b1f0c";
            await (await admin.PostAsJsonAsync("/v1/default/functions", new
            {
                name = "quiet",
                code = "export default (req, ctx) => new Response(ctx.env.SECRET.length.toString());",
                envVars = new Dictionary<string, string> { ["SECRET"] = secretValue },
            })).ShouldSucceedAsync(201);
            var apiKey = (await (await admin.PostAsJsonAsync("/v1/keys", new { name = "runner", permissions = new[] { "functions.execute" } })).ShouldSucceedAsync(201))
                .GetProperty("key").GetString()!;
            var userToken = (await (await admin.PostAsJsonAsync("/v1/default/auth/token", new { sub = "u" })).ShouldSucceedAsync()).GetProperty("token").GetString()!;
            var anonKey = (await (await admin.GetAsync("/v1/apps/default/auth")).ShouldSucceedAsync()).GetProperty("anonKey").GetString()!;
            foreach (var credential in new[] { apiKey, userToken, anonKey, "isola_sk_wrong-key-on-purpose" })
            {
                using var caller = Client(url, credential);
                await caller.GetAsync("/v1/default/fn/quiet");
            }

            await Task.Delay(500); // let batched records and any log lines land
            foreach (var secret in new[] { secretValue, apiKey, userToken, anonKey, "isola_sk_wrong-key-on-purpose" })
            {
                Assert.DoesNotContain(secret, node.Output);
            }
        }
        finally
        {
            TestEnvironment.DeleteScratch(dataDir);
        }
    }

    [Theory]
    [InlineData("not a url at all", "ISOLA_DATABASE_URL")]
    [InlineData("Host=/nonexistent-socket-dir;Database=x;Timeout=2", "cannot prepare the database")]
    public async Task A_bad_or_unreachable_database_stops_start_with_a_clear_message(string databaseUrl, string message)
    {
        var failure = await Assert.ThrowsAsync<StartupException>(() => TestHost.StartAsync(TestHost.NewOptions(databaseUrl), ownsDataDir: true));
        Assert.Contains(message, failure.Message);
    }

    private static async Task WaitForNoWorkersAsync(string dataDir)
    {
        var marker = Path.Combine(dataDir, "workers") + "/";
        var deadline = DateTime.UtcNow.AddSeconds(10);
        List<string> alive;
        do
        {
            alive = [.. Directory.EnumerateDirectories("/proc")
                .Where(dir => int.TryParse(Path.GetFileName(dir), out _))
                .Select(dir =>
                {
                    try
                    {
                        return File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                    }
                    catch (IOException)
                    {
                        return "";
                    }
                })
                .Where(cmdline => cmdline.Contains(marker, StringComparison.Ordinal) && cmdline.Contains("bootstrap.ts", StringComparison.Ordinal))];
            if (alive.Count == 0)
            {
                return;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        Assert.Fail($"{alive.Count} workers of the killed host are still running");
    }

    private static HttpClient Client(Uri url, string key)
    {
        var client = new HttpClient { BaseAddress = url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
