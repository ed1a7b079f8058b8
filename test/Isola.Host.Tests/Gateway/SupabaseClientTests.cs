using System.Diagnostics;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// feature H6: the real npm package <c>@supabase/functions-js</c>, unmodified, from Node, classifies
/// Isola's answers as Supabase does (test/node/supabase-functions-js/client.test.mjs).
/// </summary>
public sealed class SupabaseClientTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    [Fact]
    public async Task Functions_js_gets_data_http_relay_and_fetch_errors_right()
    {
        foreach (var name in new[] { "sb-json", "sb-text", "sb-binary", "sb-error" })
        {
            await fixture.DeployFixtureAsync(name, $"supabase-client/{name}/index.ts");
        }

        await fixture.DeployFixtureAsync("sb-user-only", "supabase-client/sb-json/index.ts", new Dictionary<string, object?> { ["auth"] = "user" });

        var dir = Path.Combine(TestEnvironment.RepoRoot, "test", "node", "supabase-functions-js");
        Assert.True(Directory.Exists(Path.Combine(dir, "node_modules", "@supabase", "functions-js")),
            "run ./test.sh (it installs the npm package) or npm install in " + dir);
        var info = new ProcessStartInfo("node", ["--test", "client.test.mjs"])
        {
            WorkingDirectory = dir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ISOLA_URL"] = fixture.Host.Url.ToString().TrimEnd('/');
        info.Environment["ANON_KEY"] = fixture.Host.AnonKey;
        using var node = Process.Start(info)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var errors = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var text = await output + await errors;
        Assert.True(node.ExitCode == 0, "functions-js contract failed:\n" + text);
        Assert.Contains("# pass 7", text);
        Assert.Contains("# fail 0", text);
    }
}
