using System.Net.Http.Json;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers.Sandbox;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// The network sandbox attacked from inside real functions (fixture sandbox/network-probe): loopback in
/// every address form, every TCP listen, the opt-in to private addresses. Test traffic goes to
/// loopback only; private ranges are proven refused inside an empty network namespace.
/// </summary>
public sealed class NetworkSandboxTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>, IAsyncLifetime
{
    /// <summary>Loopback as a function can spell it: names, short, decimal, hex and octal IPv4, IPv4-mapped IPv6, IPv6, wildcards.</summary>
    private static readonly string[] LoopbackForms =
    [
        "localhost", "127.0.0.1", "127.0.0.2", "2130706433", "0x7f000001", "0x7f.0.0.1", "0177.0.0.1", "017700000001", "127.1",
        "::ffff:127.0.0.1", "::ffff:7f00:1", "::1", "[::1]", "0.0.0.0", "0", "::",
    ];

    private TestHost Host => fixture.Host;

    public async Task InitializeAsync()
    {
        var list = await (await Host.Client.GetAsync("/v1/default/functions")).ShouldSucceedAsync();
        var names = list.GetProperty("functions").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToHashSet();
        if (!names.Contains("netprobe"))
        {
            await fixture.DeployFixtureAsync("netprobe", "sandbox/network-probe/index.ts");
        }

        if (!names.Contains("netprobe-private"))
        {
            await fixture.DeployFixtureAsync("netprobe-private", "sandbox/network-probe/index.ts", new Dictionary<string, object?>
            {
                ["network"] = new Dictionary<string, object> { ["allowPrivate"] = true },
            });
        }

        await FirstCall.WarmAsync(Host, "netprobe");
        await FirstCall.WarmAsync(Host, "netprobe-private");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("connect")]
    [InlineData("connecttls")]
    [InlineData("fetch")]
    [InlineData("websocket")]
    [InlineData("nodenet")]
    [InlineData("nodehttp")]
    public async Task Loopback_services_are_refused_in_every_address_form_and_see_nothing(string method)
    {
        await using var server = await CountingServer.StartAsync();
        foreach (var form in LoopbackForms)
        {
            var result = await ProbeAsync("netprobe", method, form, server.Port);
            Assert.False(result.GetProperty("escaped").GetBoolean(), $"{method} {form}: {result}");
        }

        Assert.Equal(0, server.Accepted);
    }

    [Theory]
    [InlineData("listen")]
    [InlineData("listentls")]
    [InlineData("listendatagram")]
    [InlineData("nodelisten")]
    [InlineData("nodedgram")]
    public async Task No_function_can_listen_on_a_port_not_even_with_allowPrivate(string method)
    {
        foreach (var function in new[] { "netprobe", "netprobe-private" })
        {
            foreach (var host in new[] { "0.0.0.0", "127.0.0.1", "127.0.0.9", "::", "::1", "localhost" })
            {
                var port = FreePort();
                var result = await ProbeAsync(function, method, host, port);
                Assert.False(result.GetProperty("escaped").GetBoolean(), $"{function} {method} {host}: {result}");
                Assert.False(await IsListeningAsync(port), $"{function} {method} {host}:{port} is listening");
            }
        }
    }

    [Fact]
    public async Task AllowPrivate_reaches_a_loopback_service_but_never_the_nodes_own_port()
    {
        await using var server = await CountingServer.StartAsync();
        var connected = await ProbeAsync("netprobe-private", "connect", "127.0.0.1", server.Port);
        Assert.True(connected.GetProperty("escaped").GetBoolean(), connected.ToString());
        // The server's accept loop counts the connection a moment after the function's connect returns.
        for (var i = 0; i < 100 && server.Accepted == 0; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(1, server.Accepted);

        foreach (var form in new[] { "127.0.0.1", "localhost", "::1", "0.0.0.0", "2130706433" })
        {
            foreach (var method in new[] { "connect", "fetch" })
            {
                var result = await ProbeAsync("netprobe-private", method, form, Host.Url.Port);
                Assert.False(result.GetProperty("escaped").GetBoolean(), $"{method} {form}:{Host.Url.Port}: {result}");
            }
        }
    }

    [Fact]
    public async Task The_network_setting_is_validated_stored_and_shown()
    {
        var shown = await (await Host.Client.GetAsync("/v1/default/functions/netprobe-private")).ShouldSucceedAsync();
        Assert.True(FindAllowPrivate(shown), shown.ToString());
        var plain = await (await Host.Client.GetAsync("/v1/default/functions/netprobe")).ShouldSucceedAsync();
        Assert.False(FindAllowPrivate(plain), plain.ToString());

        foreach (var bad in new object[] { true, "private", new { allowPrivate = "yes" }, new { allowPublic = true } })
        {
            var response = await Host.Client.PostAsJsonAsync("/v1/default/functions", new { name = "netbad", code = "export default () => new Response('x')", network = bad });
            var error = await response.ShouldFailAsync(400, "INVALID_REQUEST");
            Assert.StartsWith("network", error.GetProperty("field").GetString(), StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The launch line's deny list and the runtime guard, run by a plain Deno inside a network namespace
    /// this test makes (no interface is up, so nothing can leave even if a rule failed): each private,
    /// link-local and host address must be refused by permission (NotCapable), not by the network.
    /// </summary>
    [Fact]
    public async Task Private_link_local_and_host_addresses_are_refused_before_any_packet()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return; // Needs unshare --net; the loopback tests above cover the same rules without it.
        }

        var targets = new List<string>
        {
            "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1", "100.64.0.1", "169.254.169.254", "224.0.0.1",
            "fd00::1", "fc00::1", "fe80::1", "fd00:ec2::254", "::ffff:10.0.0.1", "::ffff:192.168.0.1", "64:ff9b::a00:1",
        };
        targets.AddRange(NetworkDenyList.HostAddresses.Select(address => new IPAddress(address.GetAddressBytes()).ToString()));
        var script = Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "sandbox", "private-ranges.ts");
        var info = new ProcessStartInfo("unshare", ["--net", "--", TestEnvironment.DenoPath, "run", "--quiet", "--no-prompt", "--no-config",
            "--allow-net", "--deny-net=" + string.Join(',', NetworkDenyList.For(allowPrivate: false, hostPort: 0)),
            "--allow-read=" + TestEnvironment.RepoRoot, script, .. targets, .. PublicTargets])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["DENO_DIR"] = TestEnvironment.SharedDenoCache, ["NO_COLOR"] = "1" },
        };
        using var process = Process.Start(info)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var errors = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, errors);
        var results = JsonDocument.Parse(output).RootElement;
        foreach (var target in targets)
        {
            foreach (var method in new[] { "connect", "fetch", "websocket", "nodenet" })
            {
                var outcome = results.GetProperty(target).GetProperty(method).GetString();
                Assert.True(outcome == "NotCapable", $"{method} {target}: {outcome}");
            }
        }

        // Public addresses pass the rules and fail only for want of a route in this namespace.
        foreach (var target in PublicTargets)
        {
            foreach (var method in new[] { "connect", "fetch", "websocket", "nodenet" })
            {
                var outcome = results.GetProperty(target).GetProperty(method).GetString();
                Assert.True(outcome != "NotCapable" && outcome != "reached", $"{method} {target}: {outcome}");
            }
        }
    }

    /// <summary>Documentation-style public addresses, only ever tried inside the empty namespace.</summary>
    private static readonly string[] PublicTargets = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"];

    private static bool FindAllowPrivate(JsonElement function)
    {
        var settings = function.TryGetProperty("settings", out var nested) ? nested : function;
        return settings.GetProperty("network").GetProperty("allowPrivate").GetBoolean();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static async Task<bool> IsListeningAsync(int port)
    {
        foreach (var address in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback, IPAddress.Parse("127.0.0.9") })
        {
            using var client = new TcpClient(address.AddressFamily);
            try
            {
                await client.ConnectAsync(address, port);
                return true;
            }
            catch (SocketException)
            {
            }
        }

        return false;
    }

    private async Task<JsonElement> ProbeAsync(string function, string method, string host, int port) =>
        await (await Host.Caller.GetAsync($"/v1/default/fn/{function}/{method}?host={Uri.EscapeDataString(host)}&port={port}")).ShouldSucceedAsync();

    /// <summary>A TCP server on 127.0.0.1, 127.0.0.2 and ::1 (one port) that counts the connections it accepts.</summary>
    private sealed class CountingServer : IAsyncDisposable
    {
        private readonly List<TcpListener> _listeners;
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Task> _loops = [];
        private int _accepted;

        private CountingServer(List<TcpListener> listeners)
        {
            _listeners = listeners;
            Port = ((IPEndPoint)listeners[0].LocalEndpoint).Port;
            foreach (var listener in listeners)
            {
                _loops.Add(AcceptAsync(listener));
            }
        }

        public int Port { get; }

        public int Accepted => Volatile.Read(ref _accepted);

        public static Task<CountingServer> StartAsync()
        {
            for (var attempt = 0; attempt < 20; attempt++)
            {
                var first = new TcpListener(IPAddress.Loopback, 0);
                first.Start();
                var port = ((IPEndPoint)first.LocalEndpoint).Port;
                var listeners = new List<TcpListener> { first };
                try
                {
                    foreach (var address in new[] { IPAddress.Parse("127.0.0.2"), IPAddress.IPv6Loopback })
                    {
                        var listener = new TcpListener(address, port);
                        listener.Start();
                        listeners.Add(listener);
                    }

                    return Task.FromResult(new CountingServer(listeners));
                }
                catch (SocketException)
                {
                    listeners.ForEach(l => l.Stop());
                }
            }

            throw new InvalidOperationException("no port free on 127.0.0.1, 127.0.0.2 and ::1 at once");
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            _listeners.ForEach(l => l.Stop());
            await Task.WhenAll(_loops.Select(loop => loop.ContinueWith(_ => { }, TaskScheduler.Default)));
            _stop.Dispose();
        }

        private async Task AcceptAsync(TcpListener listener)
        {
            while (!_stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
            }
        }
    }
}
