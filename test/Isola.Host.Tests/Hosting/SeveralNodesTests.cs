using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Isola.Host.Data;
using Isola.Host.Tests.Infrastructure;
using Npgsql;

namespace Isola.Host.Tests.Hosting;

/// <summary>
/// Several nodes, one database (docs/running.md): a node on the embedded cluster writes <c>database.url</c>,
/// and a second node started with it and the first node's master key serves the same apps, functions and keys.
/// </summary>
public sealed partial class SeveralNodesTests
{
    [Fact]
    public async Task A_second_node_started_with_database_url_serves_what_the_first_has()
    {
        await using var cluster = await NodeCluster.StartAsync(2);
        var file = Path.Combine(cluster.FirstDataDir, "database.url");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.StartsWith("postgresql:///isola?host=", cluster.DatabaseUrl);

        using var first = cluster.Admin(0);
        using var second = cluster.Admin(1); // the first node's admin key, sent to the second node
        await (await first.PostAsJsonAsync("/v1/apps", new { id = "shop" })).ShouldSucceedAsync(201);
        var key = (await (await first.PostAsJsonAsync("/v1/keys", new { name = "reader", permissions = new[] { "functions.read", "functions.execute" } })).ShouldSucceedAsync(201))
            .GetProperty("key").GetString()!;
        await (await first.PostAsJsonAsync("/v1/shop/functions", new
        {
            name = "greet",
            code = "export default (req, ctx) => Response.json({ hello: ctx.env.WHO });",
            envVars = new Dictionary<string, string> { ["WHO"] = "from node 1" },
            auth = "public",
        })).ShouldSucceedAsync(201);

        var apps = await (await second.GetAsync("/v1/apps")).ShouldSucceedAsync();
        Assert.Contains("\"shop\"", apps.ToString());
        using var reader = new HttpClient { BaseAddress = cluster.Nodes[1].Url };
        reader.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var listed = await (await reader.GetAsync("/v1/shop/functions")).ShouldSucceedAsync();
        Assert.Equal(1, listed.GetProperty("count").GetInt32());
        // The env var was sealed with the first node's master key and opens on the second.
        var call = await WaitForOkAsync(() => reader.GetAsync("/v1/shop/fn/greet"));
        Assert.Equal("""{"hello":"from node 1"}""", await call.Content.ReadAsStringAsync());

        // An update on the second node reaches the first at once (the change notice crosses nodes).
        await (await second.PutAsJsonAsync("/v1/shop/functions/greet", new { envVars = new Dictionary<string, string> { ["WHO"] = "from node 2" } }))
            .ShouldSucceedAsync();
        using var anyone = new HttpClient { BaseAddress = cluster.Nodes[0].Url };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string body;
        do
        {
            body = await (await WaitForOkAsync(() => anyone.GetAsync("/v1/shop/fn/greet"))).Content.ReadAsStringAsync();
        }
        while (body != """{"hello":"from node 2"}""" && DateTime.UtcNow < deadline && await Delay());
        Assert.Equal("""{"hello":"from node 2"}""", body);

        // The URL is one Npgsql (and psql) accept as is.
        await using var connection = new NpgsqlConnection(DatabaseUrl.ToConnectionString(cluster.DatabaseUrl));
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("select count(*) from isola.functions where app_id = 'shop'", connection);
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task The_running_md_example_starts_a_second_node_on_the_first_node_s_database()
    {
        var markdown = await File.ReadAllTextAsync(Path.Combine(TestEnvironment.RepoRoot, "docs/running.md"));
        var example = SeveralNodesExample().Match(markdown);
        Assert.True(example.Success, "docs/running.md has no several-nodes example");
        // As written, but with the built host instead of ./isola (which would build it) and free ports.
        var script = example.Groups[1].Value
            .Replace("./isola serve", $"dotnet '{TestEnvironment.HostDll}' serve", StringComparison.Ordinal)
            .Replace("8787", FreePort().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("8788", FreePort().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        using var scratch = TestEnvironment.Scratch("nodesdoc");
        var info = new ProcessStartInfo("bash", ["-c", "set -euo pipefail\n# Stop the nodes the example started, whatever happened.\ntrap 'kill $(jobs -p) 2>/dev/null; wait' EXIT\n" + script])
        {
            WorkingDirectory = scratch.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ISOLA_DENO"] = TestEnvironment.DenoPath;
        info.Environment["ISOLA_DENO_DIR"] = TestEnvironment.SharedDenoCache;
        info.Environment.Remove("ISOLA_DATABASE_URL");
        using var bash = Process.Start(info)!;
        var stdout = bash.StandardOutput.ReadToEndAsync();
        var stderr = bash.StandardError.ReadToEndAsync();
        await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        var output = await stdout + await stderr;

        Assert.True(bash.ExitCode == 0, $"the example failed (exit {bash.ExitCode}):\n{output}");
        Assert.Contains("\"id\":\"default\"", output);
        // The second node used the first one's cluster: it never made one of its own.
        Assert.True(Directory.Exists(Path.Combine(scratch.Path, "node1", "pg")));
        Assert.False(Directory.Exists(Path.Combine(scratch.Path, "node2", "pg")));
    }

    [GeneratedRegex(@"<!-- several-nodes:start -->\s*```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex SeveralNodesExample();

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<bool> Delay()
    {
        await Task.Delay(100);
        return true;
    }

    private static async Task<HttpResponseMessage> WaitForOkAsync(Func<Task<HttpResponseMessage>> call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var response = await call();
            if (response.StatusCode == HttpStatusCode.OK || DateTime.UtcNow > deadline)
            {
                await response.EnsureSuccessOrExplainAsync();
                return response;
            }

            await Task.Delay(100);
        }
    }
}
