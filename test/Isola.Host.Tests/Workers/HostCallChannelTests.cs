using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Isola.Host.Auth;
using Isola.Host.Tests.Gateway;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Isola.Host.Workers.Calls;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Workers;

/// <summary>
/// The worker → host call channel (runtime/PROTOCOL.md, "Calls"): a call is served only with a live
/// capability of the same worker's invocation; reused, foreign, expired or made-up ones are refused.
/// </summary>
public sealed class HostCallChannelTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task A_capability_kept_from_an_ended_invocation_is_refused()
    {
        await fixture.DeployFixtureAsync("calls-stale", "gateway/host-calls/index.ts");
        await (await Host.Caller.GetAsync("/v1/default/fn/calls-stale/keep")).ShouldSucceedAsync();

        // The runtime forgets a capability once the response is sent (and tells the host, which refuses
        // it from then on: see the socket-level tests below).
        JsonElement outcome = default;
        for (var i = 0; i < 50; i++)
        {
            outcome = await (await Host.Caller.GetAsync("/v1/default/fn/calls-stale/stale")).ShouldSucceedAsync();
            if (!outcome.GetProperty("ok").GetBoolean())
            {
                break;
            }

            await Task.Delay(20);
        }

        Assert.False(outcome.GetProperty("ok").GetBoolean());
        Assert.Equal("NO_CAPABILITY", outcome.GetProperty("code").GetString());
        Assert.Contains("only available while an invocation runs", outcome.GetProperty("message").GetString());
    }

    [Fact]
    public async Task The_running_invocation_and_its_waitUntil_work_pass_the_capability_check()
    {
        await fixture.DeployFixtureAsync("calls-live", "gateway/host-calls/index.ts");
        var current = await (await Host.Caller.GetAsync("/v1/default/fn/calls-live/current")).ShouldSucceedAsync();
        Assert.NotEqual("CAPABILITY_REFUSED", current.TryGetProperty("code", out var code) ? code.GetString() : null);

        await (await Host.Caller.GetAsync("/v1/default/fn/calls-live/later")).ShouldSucceedAsync();
        var report = "pending";
        for (var i = 0; i < 500 && report == "pending"; i++) // up to ~10 s on a loaded machine
        {
            await Task.Delay(20);
            report = await (await Host.Caller.GetAsync("/v1/default/fn/calls-live/report")).Content.ReadAsStringAsync();
        }

        Assert.NotEqual("pending", report);
        Assert.DoesNotContain("CAPABILITY_REFUSED", report);
    }

    [Fact]
    public async Task A_capability_presented_on_another_workers_channel_is_refused()
    {
        var (first, second) = (await WarmWorkerAsync("calls-a"), await WarmWorkerAsync("calls-b"));
        var token = Issue(first, TimeSpan.FromMinutes(1));

        var own = await CallAsync(first, token);
        Assert.True(own.GetProperty("ok").GetBoolean(), own.ToString());
        Assert.Equal("calls-a", own.GetProperty("value").GetProperty("function").GetString());

        var foreign = await CallAsync(second, token);
        Assert.Equal("CAPABILITY_REFUSED", foreign.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("another worker", foreign.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Expired_released_and_made_up_capabilities_are_refused()
    {
        var worker = await WarmWorkerAsync("calls-c");
        var expired = Issue(worker, TimeSpan.FromMilliseconds(-1));
        Assert.Contains("expired", (await CallAsync(worker, expired)).GetProperty("error").GetProperty("message").GetString());

        var released = Issue(worker, TimeSpan.FromMinutes(1));
        Assert.True((await CallAsync(worker, released)).GetProperty("ok").GetBoolean());
        Capabilities.Release(released, worker.Id);
        Assert.Equal("CAPABILITY_REFUSED", (await CallAsync(worker, released)).GetProperty("error").GetProperty("code").GetString());

        Assert.Equal("CAPABILITY_REFUSED", (await CallAsync(worker, "made-up-token")).GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_malformed_call_gets_an_error_answer_and_the_channel_keeps_serving()
    {
        var worker = await WarmWorkerAsync("calls-d");
        using var socket = await ConnectAsync(worker);
        var answers = new StreamReader(new NetworkStream(socket), Encoding.UTF8);
        await socket.SendAsync(Encoding.UTF8.GetBytes("{\"id\": 1, \"op\": 5}\nnot json\n"));
        var first = JsonDocument.Parse((await answers.ReadLineAsync())!).RootElement;
        Assert.Equal("BAD_CALL", first.GetProperty("error").GetProperty("code").GetString());
        var second = JsonDocument.Parse((await answers.ReadLineAsync())!).RootElement;
        Assert.Equal("BAD_CALL", second.GetProperty("error").GetProperty("code").GetString());

        var token = Issue(worker, TimeSpan.FromMinutes(1));
        await socket.SendAsync(Encoding.UTF8.GetBytes($"{{\"id\": 2, \"op\": \"invocation.whoami\", \"cap\": \"{token}\"}}\n"));
        Assert.True(JsonDocument.Parse((await answers.ReadLineAsync())!).RootElement.GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task A_worker_that_ends_takes_its_capabilities_with_it()
    {
        var worker = await WarmWorkerAsync("calls-e");
        var token = Issue(worker, TimeSpan.FromMinutes(1));
        Assert.NotNull(Capabilities.Find(token, worker.Id, out _));
        worker.Kill(WorkerExitKind.Crashed);
        await worker.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Null(Capabilities.Find(token, worker.Id, out var refusal));
        Assert.Contains("unknown", refusal);
    }

    private InvocationCapabilities Capabilities => Host.Server.Services.GetRequiredService<InvocationCapabilities>();

    private async Task<WorkerProcess> WarmWorkerAsync(string name)
    {
        await fixture.DeployFixtureAsync(name, "gateway/host-calls/index.ts");
        await (await Host.Caller.GetAsync($"/v1/default/fn/{name}/current")).ShouldSucceedAsync();
        var functions = await (await Host.Client.GetAsync($"/v1/default/functions/{name}")).ShouldSucceedAsync();
        var id = Guid.Parse(functions.GetProperty("id").GetString()!);
        var worker = Assert.Single(Host.Server.Services.GetRequiredService<WorkerSupervisor>().WorkersOf(id));
        _functionOf[worker.Id] = name;
        return worker;
    }

    /// <summary>A grant as the gateway issues one, for <paramref name="worker"/>'s function, living <paramref name="lifetime"/>.</summary>
    private string Issue(WorkerProcess worker, TimeSpan lifetime)
    {
        var now = DateTimeOffset.UtcNow;
        return Capabilities.Issue(new CapabilityGrant("test-" + Guid.NewGuid().ToString("N"), worker.Id, "default", Guid.Empty,
            _functionOf[worker.Id], Caller.Anonymous, now + lifetime) { ExpiresAt = now + lifetime });
    }

    private readonly Dictionary<string, string> _functionOf = [];

    private static async Task<Socket> ConnectAsync(WorkerProcess worker)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(Path.Combine(worker.Directory, HostCallChannel.SocketName)));
        return socket;
    }

    private static async Task<JsonElement> CallAsync(WorkerProcess worker, string token)
    {
        using var socket = await ConnectAsync(worker);
        await socket.SendAsync(Encoding.UTF8.GetBytes($"{{\"id\": 7, \"op\": \"invocation.whoami\", \"cap\": \"{token}\"}}\n"));
        using var reader = new StreamReader(new NetworkStream(socket), Encoding.UTF8);
        var line = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return JsonDocument.Parse(line!).RootElement.Clone();
    }
}
