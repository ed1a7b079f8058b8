using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Isola.Host.Data;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Hosting;

/// <summary>
/// Whole nodes (<c>isola serve</c> out of process) meeting what operators meet: a private data dir,
/// a PostgreSQL that dies under them, a SIGTERM while workers cannot start.
/// </summary>
public sealed class NodeResilienceTests
{
    [Fact]
    public async Task A_private_0700_data_dir_as_made_by_mktemp_serves()
    {
        using var scratch = TestEnvironment.Scratch("private");
        var dataDir = scratch.Path;
        File.SetUnixFileMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await using var node = IsolaProcess.Start(dataDir);
        var url = await node.WaitReadyAsync();
        using var client = new HttpClient { BaseAddress = url };
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
        // Traverse only: the PostgreSQL user may pass through, nobody else may list the keys.
        var mode = File.GetUnixFileMode(dataDir);
        Assert.Equal(UnixFileMode.None, mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite));
        Assert.Equal(0, await node.TerminateAsync());
    }

    [Fact]
    public async Task After_the_postmaster_is_killed_the_node_answers_503_serves_warm_functions_and_recovers_by_itself()
    {
        var dataDir = TestEnvironment.CreateScratch("pgkill");
        var pgVersion = Path.Combine(dataDir, "pg", "PG_VERSION");
        try
        {
            await using var node = IsolaProcess.Start(dataDir, new Dictionary<string, string> { ["ISOLA_PG_RESTART_ATTEMPTS"] = "20" });
            var url = await node.WaitReadyAsync();
            using var admin = Client(url, await AdminKeyAsync(dataDir));
            using var anyone = new HttpClient { BaseAddress = url };
            await (await admin.PostAsJsonAsync("/v1/default/functions", new { name = "warm", code = Code, auth = "public" })).ShouldSucceedAsync(201);
            // Warm it up (on a loaded machine the first start may outlast the queue wait: retry).
            var first = await WaitForStatusAsync(() => anyone.GetAsync("/v1/default/fn/warm"), HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            Assert.Equal("hello", await first.Content.ReadAsStringAsync());

            // Known to the node (a GET answered 405 put it in the registry) but never started: its files are in the database.
            await (await admin.PostAsJsonAsync("/v1/default/functions", new
            {
                name = "cold",
                files = new Dictionary<string, string> { ["index.ts"] = Code },
                methods = new[] { "POST" },
                auth = "public",
            })).ShouldSucceedAsync(201);
            Assert.Equal(HttpStatusCode.MethodNotAllowed, (await anyone.GetAsync("/v1/default/fn/cold")).StatusCode);

            // Hold the outage open: with PG_VERSION away every restart fails at once (PostgreSQL reads
            // it only at start, so the running server does not notice).
            File.Move(pgVersion, pgVersion + ".away");
            var postmaster = PostmasterPid(dataDir);
            KillHard(postmaster);

            // Calls that need the database: 503 with the code, never 500.
            var deploy = await WaitForStatusAsync(() => admin.PostAsJsonAsync("/v1/default/functions", new { name = "during", code = Code }), HttpStatusCode.ServiceUnavailable);
            Assert.Equal("DATABASE_UNAVAILABLE", await ErrorCodeAsync(deploy));
            // /health says 503 at once, and "restarting" once the watch (every 0.5 s) has seen the death.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            string? state;
            do
            {
                var health = await anyone.GetAsync("/health");
                Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
                state = (await health.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("database").GetString();
                Assert.Contains(state, new[] { "down", "restarting" });
                await Task.Delay(state == "restarting" ? 0 : 100);
            }
            while (state != "restarting" && DateTime.UtcNow < deadline);
            Assert.Equal("restarting", state);
            var list = await admin.GetAsync("/v1/default/functions");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, list.StatusCode);
            Assert.Equal("DATABASE_UNAVAILABLE", await ErrorCodeAsync(list));
            var unknown = await anyone.GetAsync("/v1/default/fn/never-deployed");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unknown.StatusCode);
            Assert.Equal("DATABASE_UNAVAILABLE", await ErrorCodeAsync(unknown));

            var cold = await anyone.PostAsync("/v1/default/fn/cold", null);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, cold.StatusCode);
            var coldBody = await cold.Content.ReadAsStringAsync();
            Assert.Contains("the database is unavailable", coldBody);
            Assert.DoesNotContain(".s.PGSQL", coldBody); // the socket path stays private

            // A warm function needs no database: it keeps answering through the outage.
            for (var i = 0; i < 20; i++)
            {
                var call = await anyone.GetAsync("/v1/default/fn/warm");
                Assert.Equal(HttpStatusCode.OK, call.StatusCode);
            }

            // Repaired: the node restarts PostgreSQL on its own and everything works again.
            File.Move(pgVersion + ".away", pgVersion);
            await WaitForStatusAsync(() => anyone.GetAsync("/health"), HttpStatusCode.OK, TimeSpan.FromSeconds(90));
            Assert.NotEqual(postmaster, PostmasterPid(dataDir));
            await (await admin.PostAsJsonAsync("/v1/default/functions", new { name = "after", code = Code, auth = "public" })).ShouldSucceedAsync(201);
            var after = await WaitForStatusAsync(() => anyone.GetAsync("/v1/default/fn/after"), HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            Assert.Equal("hello", await after.Content.ReadAsStringAsync());
            await WaitForStatusAsync(() => anyone.GetAsync("/v1/default/fn/warm"), HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            // The registry resynced: an update made after the outage is what callers get.
            await (await admin.PutAsJsonAsync("/v1/default/functions/warm", new { code = "export default () => new Response('v2');" })).ShouldSucceedAsync();
            var updated = await WaitForStatusAsync(() => anyone.GetAsync("/v1/default/fn/warm"), HttpStatusCode.OK, TimeSpan.FromSeconds(60));
            Assert.Equal("v2", await updated.Content.ReadAsStringAsync());
            Assert.DoesNotContain("INTERNAL_ERROR", node.Output);
            Assert.Equal(0, await node.TerminateAsync());
        }
        finally
        {
            if (File.Exists(pgVersion + ".away"))
            {
                File.Move(pgVersion + ".away", pgVersion);
            }

            TestEnvironment.DeleteScratch(dataDir);
        }
    }

    [Fact]
    public async Task A_node_whose_postmaster_cannot_be_restarted_exits_non_zero()
    {
        using var scratch = TestEnvironment.Scratch("pgdead");
        var dataDir = scratch.Path;
        await using var node = IsolaProcess.Start(dataDir, new Dictionary<string, string> { ["ISOLA_PG_RESTART_ATTEMPTS"] = "2" });
        await node.WaitReadyAsync();
        var pgVersion = Path.Combine(dataDir, "pg", "PG_VERSION");
        File.Move(pgVersion, pgVersion + ".away"); // every restart fails
        KillHard(PostmasterPid(dataDir));

        var exitCode = await node.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(3, exitCode);
        Assert.Contains("2 restarts failed", node.Output);
        Assert.DoesNotContain("Unhandled exception", node.Output);
    }

    [Fact]
    public async Task SIGTERM_while_workers_cannot_start_exits_cleanly_and_stops_PostgreSQL()
    {
        using var scratch = TestEnvironment.Scratch("prestart");
        var dataDir = scratch.Path;
        // A runtime that never says ISOLA_READY: every pre-start times out, as on an overloaded machine.
        await using var node = StartWithRuntimeThatNeverGetsReady(dataDir);
        var url = await node.WaitReadyAsync();
        var postmaster = PostmasterPid(dataDir);
        using var admin = Client(url, await AdminKeyAsync(dataDir));
        await (await admin.PostAsJsonAsync("/v1/default/functions", new { name = "stuck", code = Code, auth = "public" })).ShouldSucceedAsync(201);
        // A call that waits for a worker while the node is told to stop.
        using var anyone = new HttpClient { BaseAddress = url };
        var call = anyone.GetAsync("/v1/default/fn/stuck");
        await Task.Delay(300);

        Assert.Equal(0, await node.TerminateAsync());
        Assert.DoesNotContain("Unhandled exception", node.Output);
        Assert.False(EmbeddedPostgres.IsPostgresProcess(postmaster), "PostgreSQL was stopped with the node");
        Assert.False(File.Exists(Path.Combine(dataDir, "pg", "postmaster.pid")));
        try
        {
            await call;
        }
        catch (HttpRequestException)
        {
            // The node went away under the call; that is all this test asks of it.
        }
    }

    [Fact]
    public async Task A_worker_that_never_gets_ready_fails_with_its_stderr_in_the_error()
    {
        using var scratch = TestEnvironment.Scratch("stderr");
        var dataDir = scratch.Path;
        await using var node = StartWithRuntimeThatNeverGetsReady(dataDir);
        await node.WaitReadyAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!node.Output.Contains("no ISOLA_READY", StringComparison.Ordinal) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        var line = node.Output.Split('\n').First(l => l.Contains("no ISOLA_READY", StringComparison.Ordinal));
        Assert.Contains("bootstrap stuck on purpose", line);
    }

    [Fact]
    public async Task A_query_in_flight_when_PostgreSQL_dies_fails_in_the_function_and_the_node_recovers()
    {
        using var scratch = TestEnvironment.Scratch("pgmidq");
        var dataDir = scratch.Path;
        await using var node = IsolaProcess.Start(dataDir, new Dictionary<string, string> { ["ISOLA_PG_RESTART_ATTEMPTS"] = "20" });
        var url = await node.WaitReadyAsync();
        using var admin = Client(url, await AdminKeyAsync(dataDir));
        await (await admin.PostAsJsonAsync("/v1/default/functions", new { name = "db-probe", code = DbProbe, auth = "public", timeoutMs = 60000 })).ShouldSucceedAsync(201);
        var quick = await WaitForStatusAsync(() => admin.GetAsync("/v1/default/fn/db-probe/quick"), HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        Assert.Equal("""{"one":1}""", await quick.Content.ReadAsStringAsync());

        // A statement is running in PostgreSQL when its postmaster is killed.
        var slow = admin.GetAsync("/v1/default/fn/db-probe/slow");
        await Task.Delay(1500);
        Assert.False(slow.IsCompleted, "the slow statement finished before PostgreSQL was killed");
        KillHard(PostmasterPid(dataDir));

        // The function hears a database error (it answers it itself), not the node: no gateway error code.
        var failed = await slow.WaitAsync(TimeSpan.FromSeconds(30));
        var body = await failed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
        Assert.False(failed.Headers.Contains("x-isola-error-code"), body.ToString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("code").GetString()), body.ToString());

        // The node stays up, restarts PostgreSQL, and the same function reaches it again.
        var again = await WaitForStatusAsync(() => admin.GetAsync("/v1/default/fn/db-probe/quick"), HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        Assert.Equal("""{"one":1}""", await again.Content.ReadAsStringAsync());
        Assert.Equal(0, await node.TerminateAsync());
    }

    // /quick: one row; /slow: a statement that outlives the postmaster. Errors are answered by the function.
    private const string DbProbe = """
        export default async (req, ctx) => {
          const sql = new URL(req.url).pathname.endsWith("/slow") ? "select pg_sleep(20) as one" : "select 1 as one";
          try {
            const { rows } = await ctx.db.query(sql);
            return Response.json(rows[0]);
          } catch (error) {
            return Response.json({ code: error.code, message: error.message }, { status: 503 });
          }
        };
        """;

    private const string Code = "export default () => new Response('hello');";

    private static async Task<HttpResponseMessage> WaitForStatusAsync(Func<Task<HttpResponseMessage>> send, HttpStatusCode expected, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            HttpResponseMessage response;
            try
            {
                response = await send();
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
                continue;
            }

            if (response.StatusCode == expected)
            {
                return response;
            }

            Assert.True(response.StatusCode != HttpStatusCode.InternalServerError, "500: " + await response.Content.ReadAsStringAsync());
            Assert.True(DateTime.UtcNow < deadline, $"still {(int)response.StatusCode} (wanted {(int)expected}): {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(200);
        }
    }

    /// <summary>A node whose workers run the checked-in fake runtime that never prints ISOLA_READY (it says so on stderr).</summary>
    private static IsolaProcess StartWithRuntimeThatNeverGetsReady(string dataDir) =>
        IsolaProcess.Start(dataDir, new Dictionary<string, string>
        {
            ["ISOLA_RUNTIME"] = Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "fake-worker", "never-ready.ts"),
        });

    private static async Task<string?> ErrorCodeAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("error").GetProperty("code").GetString();

    private static int PostmasterPid(string dataDir) =>
        int.Parse(File.ReadLines(Path.Combine(dataDir, "pg", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>SIGKILL to the node's own postmaster (started by the node under test, never another's).</summary>
    private static void KillHard(int pid)
    {
        Assert.True(EmbeddedPostgres.IsPostgresProcess(pid));
        using var process = System.Diagnostics.Process.GetProcessById(pid);
        process.Kill();
    }

    private static async Task<string> AdminKeyAsync(string dataDir) =>
        (await File.ReadAllTextAsync(Path.Combine(dataDir, "admin.key"))).Trim();

    private static HttpClient Client(Uri url, string key)
    {
        var client = new HttpClient { BaseAddress = url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }
}
