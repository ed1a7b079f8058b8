using System.Diagnostics;
using System.Text.RegularExpressions;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Docs;

/// <summary>
/// Runs the shell examples of the README and docs/ verbatim (the ```bash blocks between
/// <c>&lt;!-- walkthrough:start --&gt;</c> and <c>end</c>) against a fresh node, as a user would at the
/// repository root, and checks the sample output written in their <c># {...}</c> comments.
/// </summary>
public sealed partial class DocExampleTests
{
    [Theory]
    [InlineData("README.md", new[] { "\"name\": \"hello-world\"", "\"description\": \"A simple greeting function\"", "\"current\": 3", "\"deleted\": true",
        "deployed hello-world version 3", "isola: AUTH_REQUIRED: 'profile' needs a signed-in user", "refused, exit 1", "applied 001_my_notes",
        "[\"Ada's note\"]", "[\"Bob's note\"]", "\n[]\n", "[\"Ada's note\",\"Bob's note\"]" })]
    [InlineData("docs/functions-api.md", new[] { "\"envVars\":[\"API_KEY\",\"BASE_URL\"]", "\"app\":\"shop\"", "\"byTrigger\":", "Hello from json", "Hello from a file" })]
    [InlineData("docs/running.md", new[] { "{\"status\":\"ok\",\"database\":\"up\"", "\"count\":1,", "\"scaledOut\":0,\"evicted\":0}" })]
    [InlineData("docs/access-control.md", new[] { "\"userId\":\"user-1\"", "\"permissions\":[\"functions.create\",\"functions.update\"]" })]
    [InlineData("docs/data.md", new[] { "\"applied\":true", "\"applied\":false", "\"rowCount\":2", "\"position\":85" })]
    [InlineData("docs/cli.md", new[] { "published on-order.requested (order-7)\n1\n", "skipped hello: unchanged", "skipped nightly: unchanged", "deployed hello version 2", "rolled back hello to version 1",
        "Hei from Oslo", "Hallo from Oslo", "applied 001_visits", "one file", "logged in to", "deleted single", "\"hello\": true;",
        "skipped add: unchanged", "\"add\": { kind: \"query\"; args: { a: number; b: number }; result: { sum: number } };" })]
    [InlineData("docs/js-client.md", new[] { "{\"message\":\"Hello, Ada!\",\"as\":\"anon\"}", "true FUNCTION_NOT_FOUND" })]
    [InlineData("docs/invoking.md", new[] { "\"msg\":\"task 42\"", "\"invocations\":2", "\"errors\":0", "data: {\"function\":\"tasks\",\"version\":1,", "\"msg\":\"task 7\"" })]
    [InlineData("docs/triggers.md", new[] { "\"nextRuns\":[\"", ".000Z service\"", "\"deleted\":true", "listener: {\"type\":\"subscribed\",\"channel\":\"room\",\"replyTo\":\"s1\"}",
        "speaker: {\"replyTo\":\"m1\",\"event\":\"say\",\"data\":{\"sent\":true,\"as\":\"anon\"}}",
        "listener: {\"type\":\"broadcast\",\"channel\":\"room\",\"data\":{\"text\":\"hello\"}}",
        "speaker: {\"replyTo\":\"m2\",\"error\":{\"code\":\"NO_HANDLER\"",
        "order 42 attempt 1", "order 42 attempt 2", "\"retried\":true", "reminding ada" })]
    [InlineData("docs/typed-functions.md", new[] { "\"typed\":{\"kind\":\"mutation\"", "\"typed\":{\"kind\":\"query\"",
        "{\"type\":\"result\",\"id\":\"s1\",\"value\":[{\"body\":\"hello from Ada\"", "{\"body\":\"Ada again, live\"", "{\"type\":\"unsubscribed\",\"id\":\"s1\"}",
        "\"code\":\"EMPTY_MESSAGE\"", "\"code\":\"AUTH_REQUIRED\"" })]
    public async Task Walkthrough_runs_verbatim_and_prints_what_the_doc_says(string document, string[] expectedInOutput)
    {
        var markdown = await File.ReadAllTextAsync(Path.Combine(TestEnvironment.RepoRoot, document));
        var script = ExtractWalkthrough(markdown);
        Assert.False(string.IsNullOrWhiteSpace(script), $"{document} has no walkthrough");

        var workDir = TestEnvironment.CreateScratch("docs");
        try
        {
            var options = TestHost.NewOptions(await SharedPostgres.CreateDatabaseAsync(), Path.Combine(workDir, ".isola")) with { AdminKey = null };
            await using var host = await TestHost.StartAsync(options, ownsDataDir: false);
            var (exitCode, output) = await RunBashAsync(script, workDir, host.Url.ToString().TrimEnd('/'));
            Assert.True(exitCode == 0, $"{document} walkthrough failed (exit {exitCode}):\n{output}");
            foreach (var expected in expectedInOutput.Concat(SampleOutputPairs(script)))
            {
                Assert.True(output.Contains(expected, StringComparison.Ordinal), $"{document}: expected {expected} in the output:\n{output}");
            }

            Assert.DoesNotContain("secret123", output); // env values never come back
        }
        finally
        {
            TestEnvironment.DeleteScratch(workDir);
        }
    }

    /// <summary>All walkthrough sections of a document, in order, as one script.</summary>
    internal static string ExtractWalkthrough(string markdown) =>
        string.Join("\n", WalkthroughSection().Matches(markdown)
            .SelectMany(section => BashBlock().Matches(section.Groups[1].Value))
            .Select(block => block.Groups[1].Value));

    /// <summary>Every <c>"key":"value"</c> in a <c># {...}</c> sample-output comment must appear in the real output.</summary>
    private static IEnumerable<string> SampleOutputPairs(string script) =>
        script.Split('\n')
            .Where(line => line.TrimStart().StartsWith("# {", StringComparison.Ordinal))
            .SelectMany(line => JsonPair().Matches(line).Select(match => match.Value))
            .Where(pair => !pair.StartsWith("\"invocationId\"", StringComparison.Ordinal));

    private static async Task<(int ExitCode, string Output)> RunBashAsync(string script, string workDir, string url)
    {
        var info = new ProcessStartInfo("bash", ["-c", "set -euo pipefail\n" + script])
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["ISOLA"] = url;
        // `isola` is the repository's script, as a reader who put the repository on PATH types it; its login profile stays in the scratch folder.
        info.Environment["PATH"] = TestEnvironment.RepoRoot + ":" + Environment.GetEnvironmentVariable("PATH");
        info.Environment["XDG_CONFIG_HOME"] = Path.Combine(workDir, ".config");
        // Examples that need Deno itself (the realtime client) find the same one the node runs.
        info.Environment["ISOLA_DENO"] = TestEnvironment.DenoPath;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"<!-- walkthrough:start -->(.*?)<!-- walkthrough:end -->", RegexOptions.Singleline)]
    private static partial Regex WalkthroughSection();

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    [GeneratedRegex("\"[A-Za-z]+\":\"(?:[^\"\\\\]|\\\\.)*\"")]
    private static partial Regex JsonPair();
}
