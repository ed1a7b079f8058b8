using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
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

    [Fact]
    public async Task Inspect_gives_the_function_s_worker_a_V8_inspector_that_a_paused_call_does_not_kill()
    {
        using var project = TestEnvironment.Scratch("dev-inspect");
        CopyDirectory(Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "dev", "project"), project.Path);
        // A short deadline, so the call made while the debugger holds the worker paused runs past it in the test's time.
        await File.AppendAllTextAsync(Path.Combine(project.Path, "isola.toml"), "timeout_ms = 1000\n");
        var port = FreePort();

        await using var dev = DevSession.Start(project.Path, "--inspect", "hello", "--inspect-port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await dev.WaitForAsync("serving on ");
        Assert.Contains($"inspector: hello's worker listens on 127.0.0.1:{port}", dev.Stdout, StringComparison.Ordinal);
        using var http = new HttpClient { BaseAddress = new Uri(ServingOn().Match(dev.Stdout).Groups[1].Value) };
        await WaitForAnswerAsync(http, "hello v1", dev); // the first call starts the worker, with its inspector, within a 1 s deadline: retried

        // The worker's inspector answers the DevTools protocol: it evaluates code in the worker.
        var target = await InspectorTargetAsync(port);
        using (var inspector = new ClientWebSocket())
        {
            await inspector.ConnectAsync(new Uri(target.DebuggerUrl), CancellationToken.None);
            var answer = await CdpAsync(inspector, 1, "Runtime.evaluate", """{"expression": "typeof Deno.serve + ' ' + 6 * 7"}""");
            Assert.Equal("function 42", answer.GetProperty("result").GetProperty("result").GetProperty("value").GetString());

            // Paused in the debugger, a call runs past its deadline (504) and the worker is left alone, not killed.
            await CdpAsync(inspector, 2, "Debugger.enable", "{}");
            await CdpAsync(inspector, 3, "Debugger.pause", "{}");
            using (var late = await http.GetAsync("/v1/default/fn/hello"))
            {
                Assert.Equal(System.Net.HttpStatusCode.GatewayTimeout, late.StatusCode);
            }

            await CdpAsync(inspector, 4, "Debugger.resume", "{}");
            await inspector.CloseAsync(WebSocketCloseStatus.NormalClosure, "", CancellationToken.None);
        }

        Assert.Equal(target.Id, (await InspectorTargetAsync(port)).Id);
        // Resumed, it serves again once its next health probe is answered (the paused worker was marked blocked).
        await WaitForAnswerAsync(http, "hello v1", dev);

        // A redeploy replaces the worker; the new one takes the port over once the old one is gone.
        var entry = Path.Combine(project.Path, "functions", "hello", "index.ts");
        await File.WriteAllTextAsync(entry, (await File.ReadAllTextAsync(entry)).Replace("\"v1\"", "\"v2\"", StringComparison.Ordinal));
        await WaitForAnswerAsync(http, "hello v2", dev);
        Assert.NotEqual(target.Id, (await InspectorTargetAsync(port)).Id);
    }

    [Fact]
    public async Task Inspect_names_a_function_of_the_project()
    {
        using var project = TestEnvironment.Scratch("dev-inspect-typo");
        CopyDirectory(Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "dev", "project"), project.Path);
        await using var dev = DevSession.Start(project.Path, "--inspect", "helo");
        Assert.Equal(2, await dev.WaitForExitAsync());
        Assert.Contains("--inspect helo: no such function in functions (there are: hello)", dev.Stderr, StringComparison.Ordinal);
    }

    private static async Task<(string Id, string DebuggerUrl)> InspectorTargetAsync(int port)
    {
        using var http = new HttpClient();
        using var list = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/json/list"));
        var target = Assert.Single(list.RootElement.EnumerateArray());
        return (target.GetProperty("id").GetString()!, target.GetProperty("webSocketDebuggerUrl").GetString()!);
    }

    /// <summary>Sends one DevTools protocol command and returns its answer (events met on the way are skipped).</summary>
    private static async Task<JsonElement> CdpAsync(ClientWebSocket socket, int id, string method, string parameters)
    {
        var command = Encoding.UTF8.GetBytes($$"""{"id": {{id}}, "method": "{{method}}", "params": {{parameters}}}""");
        await socket.SendAsync(command, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[64 * 1024];
        while (true)
        {
            using var message = new MemoryStream();
            WebSocketReceiveResult received;
            do
            {
                received = await socket.ReceiveAsync(buffer, timeout.Token);
                message.Write(buffer, 0, received.Count);
            }
            while (!received.EndOfMessage);

            using var document = JsonDocument.Parse(message.ToArray());
            if (document.RootElement.TryGetProperty("id", out var answered) && answered.GetInt32() == id)
            {
                Assert.False(document.RootElement.TryGetProperty("error", out var error), $"{method}: {error}");
                return document.RootElement.Clone();
            }
        }
    }

    private static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Calls hello until it answers <paramref name="expected"/> (bounded); an error answer on the way is one more try.</summary>
    private static async Task WaitForAnswerAsync(HttpClient http, string expected, DevSession dev)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            using (var response = await http.GetAsync("/v1/default/fn/hello"))
            {
                if (await response.Content.ReadAsStringAsync() == expected)
                {
                    return;
                }
            }

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
