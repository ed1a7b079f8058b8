using System.Diagnostics;
using System.Net.Http.Json;
using Isola.Host.Tests.Gateway;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Client;

/// <summary>
/// feature K1: the JS client <c>@isola/client</c> (sdk/js) from Node against a real node
/// (test/node/isola-client/client.test.mjs): JSON, text, binary and multipart, the three error classes,
/// asServiceRole and the realtime socket; typed functions with <c>callFn</c> and <c>realtime.live</c>
/// (typed.test.mjs); and its committed <c>dist/</c> is what its sources compile to.
/// </summary>
public sealed class JsClientTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly string SdkDir = Path.Combine(TestEnvironment.RepoRoot, "sdk", "js");

    [Fact]
    public async Task The_client_sends_and_reads_every_body_kind_and_classifies_errors_as_functions_js_does()
    {
        await fixture.DeployFixtureAsync("js-echo", "js-client/js-echo/index.ts");
        await fixture.DeployFixtureAsync("js-user-only", "js-client/js-echo/index.ts", new Dictionary<string, object?> { ["auth"] = "user" });
        await fixture.DeployFixtureAsync("js-text", "supabase-client/sb-text/index.ts");
        await fixture.DeployFixtureAsync("js-binary", "supabase-client/sb-binary/index.ts");
        await fixture.DeployFixtureAsync("js-error", "supabase-client/sb-error/index.ts");
        await fixture.DeployFixtureAsync("js-chat", "js-client/js-chat/index.ts",
            new Dictionary<string, object?> { ["trigger"] = new { type = "websocket", config = new { @event = "say" } } });
        var auth = await (await fixture.Host.Client.GetAsync("/v1/apps/default/auth")).ShouldSucceedAsync();

        var info = NodeTest("client.test.mjs");
        info.Environment["ANON_KEY"] = fixture.Host.AnonKey;
        info.Environment["SERVICE_KEY"] = auth.GetProperty("serviceKey").GetString();
        var (exitCode, text) = await RunAsync(info);
        Assert.True(exitCode == 0, "@isola/client tests failed:\n" + text);
        Assert.Contains("# pass 11", text, StringComparison.Ordinal);
        Assert.Contains("# fail 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_client_calls_typed_functions_and_follows_a_live_query()
    {
        await (await fixture.Host.Client.PostAsJsonAsync("/v1/default/db/migrations", new { name = "001_app", sql = TestEnvironment.Fixture("typed/001_app.sql") }))
            .ShouldSucceedAsync(201);
        var rooms = await (await fixture.Host.Client.PostAsJsonAsync("/v1/default/db/query", new { sql = "insert into rooms (name) values ('js') returning id::text as id" }))
            .ShouldSucceedAsync();
        foreach (var name in new[] { "createMessage", "listMessages", "rejectTitle" })
        {
            await fixture.DeployFixtureAsync(name, $"typed/{name}.ts");
        }

        var info = NodeTest("typed.test.mjs");
        info.Environment["ANON_KEY"] = fixture.Host.AnonKey;
        info.Environment["ROOM_ID"] = rooms.GetProperty("rows")[0].GetProperty("id").GetString();
        info.Environment["ADA_TOKEN"] = await TokenAsync(Guid.NewGuid().ToString());
        info.Environment["BOB_TOKEN"] = await TokenAsync(Guid.NewGuid().ToString());
        var (exitCode, text) = await RunAsync(info);
        Assert.True(exitCode == 0, "@isola/client typed tests failed:\n" + text);
        Assert.Contains("# pass 5", text, StringComparison.Ordinal);
        Assert.Contains("# fail 0", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_committed_dist_is_what_the_sources_compile_to()
    {
        var tsc = Path.Combine(SdkDir, "node_modules", "typescript", "bin", "tsc");
        Assert.True(File.Exists(tsc), "run ./test.sh (it installs sdk/js's devDependencies) or npm ci in " + SdkDir);
        var outDir = TestEnvironment.CreateScratch("sdk-dist");
        try
        {
            var (exitCode, text) = await RunAsync(new ProcessStartInfo("node", [tsc, "-p", Path.Combine(SdkDir, "tsconfig.json"), "--outDir", outDir])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            Assert.True(exitCode == 0, "tsc failed:\n" + text);
            var built = Directory.EnumerateFiles(outDir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            var committed = Directory.EnumerateFiles(Path.Combine(SdkDir, "dist")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(built, committed);
            foreach (var file in built)
            {
                Assert.True(await File.ReadAllTextAsync(Path.Combine(outDir, file!)) == await File.ReadAllTextAsync(Path.Combine(SdkDir, "dist", file!)),
                    $"sdk/js/dist/{file} is not what src/ compiles to: run 'npm run build' in sdk/js and commit dist/");
            }
        }
        finally
        {
            TestEnvironment.DeleteScratch(outDir);
        }
    }

    /// <summary>Node's test runner on one file of test/node/isola-client, pointed at this fixture's node.</summary>
    private ProcessStartInfo NodeTest(string file)
    {
        var info = new ProcessStartInfo("node", ["--experimental-websocket", "--test", file])
        {
            WorkingDirectory = Path.Combine(TestEnvironment.RepoRoot, "test", "node", "isola-client"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ISOLA_URL"] = fixture.Host.Url.ToString().TrimEnd('/');
        return info;
    }

    private async Task<string> TokenAsync(string sub) =>
        (await (await fixture.Host.Client.PostAsJsonAsync("/v1/default/auth/token", new { sub })).ShouldSucceedAsync()).GetProperty("token").GetString()!;

    private static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo info)
    {
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await output + await errors);
    }
}
