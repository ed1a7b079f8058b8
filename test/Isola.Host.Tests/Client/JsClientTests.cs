using System.Diagnostics;
using System.Net.Http.Json;
using Isola.Host.Tests.Gateway;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Client;

/// <summary>
/// feature K1: the JS client <c>@isola/client</c> (sdk/js) from Node against a real node
/// (test/node/isola-client/client.test.mjs): JSON, text, binary and multipart, the three error classes,
/// asServiceRole and the realtime socket; and its committed <c>dist/</c> is what its sources compile to.
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

        var info = new ProcessStartInfo("node", ["--experimental-websocket", "--test", "client.test.mjs"])
        {
            WorkingDirectory = Path.Combine(TestEnvironment.RepoRoot, "test", "node", "isola-client"),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ISOLA_URL"] = fixture.Host.Url.ToString().TrimEnd('/');
        info.Environment["ANON_KEY"] = fixture.Host.AnonKey;
        info.Environment["SERVICE_KEY"] = auth.GetProperty("serviceKey").GetString();
        var (exitCode, text) = await RunAsync(info);
        Assert.True(exitCode == 0, "@isola/client tests failed:\n" + text);
        Assert.Contains("# pass 11", text, StringComparison.Ordinal);
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

    private static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo info)
    {
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await output + await errors);
    }
}
