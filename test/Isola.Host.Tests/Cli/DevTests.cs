using System.Diagnostics;
using System.Text.RegularExpressions;
using Isola.Host.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Isola.Host.Tests.Cli;

/// <summary>
/// feature K3: <c>isola dev</c> as a developer runs it: a node of its own for a project folder (fixtures/dev/project),
/// a save redeployed and served, a syntax error printed with its place while the old version keeps serving, the
/// functions' console output in the terminal, and Ctrl+C stopping the node.
/// </summary>
public sealed partial class DevTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_save_is_served_a_syntax_error_is_printed_and_the_old_version_keeps_serving()
    {
        using var project = TestEnvironment.Scratch("dev");
        CopyDirectory(Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "dev", "project"), project.Path);
        var entry = Path.Combine(project.Path, "functions", "hello", "index.ts");

        await using var dev = DevSession.Start(project.Path);
        await dev.WaitForAsync("serving on ");
        Assert.Contains("deployed hello version 1", dev.Stdout, StringComparison.Ordinal);
        var url = ServingOn().Match(dev.Stdout).Groups[1].Value;
        using var http = new HttpClient { BaseAddress = new Uri(url) };
        Assert.Equal("hello v1", await http.GetStringAsync("/v1/default/fn/hello")); // verify_jwt = false from isola.toml

        // Console output of the function's top level and of each call reaches the terminal.
        await dev.WaitForAsync("hello loaded");
        await dev.WaitForAsync("hello called GET");

        // A save is redeployed and served; the time from the save to the first answer of the new version is reported.
        var code = await File.ReadAllTextAsync(entry);
        var saved = Stopwatch.StartNew();
        await File.WriteAllTextAsync(entry, code.Replace("\"v1\"", "\"v2\"", StringComparison.Ordinal));
        string answer;
        do
        {
            answer = await http.GetStringAsync("/v1/default/fn/hello");
            Assert.True(saved.Elapsed < TimeSpan.FromMinutes(1), $"the save was never served:\n{dev}");
        }
        while (answer != "hello v2");
        output.WriteLine($"save → new version served: {saved.ElapsedMilliseconds} ms");

        // A file of _shared/ redeploys the functions that use it.
        await File.WriteAllTextAsync(Path.Combine(project.Path, "functions", "_shared", "greeting.ts"), "export const greeting = (version: string) => `hi ${version}`;\n");
        await WaitForAnswerAsync(http, "hi v2", dev);

        // A syntax error: printed with file:line:col from the project folder, and version 3 goes on serving.
        await File.WriteAllTextAsync(entry, "export default () => new Response(\"v4\" ;\n");
        await dev.WaitForAsync("BUILD_FAILED");
        Assert.Matches(@"hello: BUILD_FAILED: build failed: functions/hello/index\.ts:1:\d+: .*\(version 3 keeps serving\)", dev.Stderr);
        Assert.Equal("hi v2", await http.GetStringAsync("/v1/default/fn/hello"));

        // Fixed again: served.
        await File.WriteAllTextAsync(entry, code.Replace("\"v1\"", "\"v5\"", StringComparison.Ordinal));
        await WaitForAnswerAsync(http, "hi v5", dev);

        // Ctrl+C stops dev and its node, which releases the data dir (a second node could take it).
        Assert.Equal(0, await dev.InterruptAsync());
        Assert.Contains("stopping the node", dev.Stdout, StringComparison.Ordinal);
        await using (new FileStream(Path.Combine(project.Path, ".isola", "isola.lock"), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetStringAsync("/health"));
    }

    [Fact]
    public async Task A_folder_without_functions_fails_before_a_node_starts()
    {
        using var project = TestEnvironment.Scratch("dev-empty");
        await using var dev = DevSession.Start(project.Path);
        Assert.Equal(1, await dev.WaitForExitAsync());
        Assert.Contains("isola: no project in", dev.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("starting a node", dev.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(project.Path, ".isola")));
    }

    private static async Task WaitForAnswerAsync(HttpClient http, string expected, DevSession dev)
    {
        var deadline = Stopwatch.StartNew();
        while (await http.GetStringAsync("/v1/default/fn/hello") != expected)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromMinutes(1), $"'{expected}' was never served:\n{dev}");
            await Task.Delay(20);
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    [GeneratedRegex(@"serving on (http://\S+) ")]
    private static partial Regex ServingOn();
}
