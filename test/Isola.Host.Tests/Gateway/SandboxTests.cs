using System.Text.Json;
using Isola.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Isola.Host.Tests.Gateway;

/// <summary>Each sandbox rule, attacked from inside a real function (fixture gateway/sandbox-probe).</summary>
public sealed class SandboxTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>, IAsyncLifetime
{
    private TestHost Host => fixture.Host;

    public async Task InitializeAsync()
    {
        var list = await (await Host.Client.GetAsync("/v1/default/functions")).ShouldSucceedAsync();
        if (!list.GetProperty("functions").EnumerateArray().Any(f => f.GetProperty("name").GetString() == "probe"))
        {
            await fixture.DeployFixtureAsync("probe", "gateway/sandbox-probe/index.ts", new Dictionary<string, object?>
            {
                ["envVars"] = new Dictionary<string, string> { ["OWN_VAR"] = "mine" },
            });
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("/proc/self/environ")]
    [InlineData("MASTER_KEY_FILE")]
    [InlineData("ADMIN_KEY_FILE")]
    public async Task Files_outside_its_own_folder_cannot_be_read(string target)
    {
        var path = target switch
        {
            "MASTER_KEY_FILE" => await WriteHostSecretAsync("master.key"),
            "ADMIN_KEY_FILE" => await WriteHostSecretAsync("admin.key"),
            _ => target,
        };
        var result = await ProbeAsync("read", path);
        Assert.False(result.GetProperty("escaped").GetBoolean(), result.ToString());
        // Refused by permission, or (a data dir under /tmp, seen from the worker's private /tmp) not there at all.
        Assert.Contains(result.GetProperty("error").GetString(), new[] { "NotCapable", "NotFound" });
    }

    [Fact]
    public async Task Other_workers_folders_and_the_host_data_dir_cannot_be_listed_or_written()
    {
        // With a private /tmp (mount namespace) a data dir under /tmp shows only the path down to the
        // worker's own folder; without one the listing is refused. Either way nothing of the host's.
        var dataDir = await ProbeAsync("readdir", Host.Options.DataDir);
        Assert.True(!dataDir.GetProperty("escaped").GetBoolean() || dataDir.GetProperty("value").GetString() == "workers", dataDir.ToString());
        var workers = await ProbeAsync("readdir", Path.Combine(Host.Options.DataDir, "workers"));
        Assert.True(!workers.GetProperty("escaped").GetBoolean() || !workers.GetProperty("value").GetString()!.Contains(','), workers.ToString());
        await ProbeAsync("write", "/tmp/isola-escape-test"); // the worker's own /tmp, or refused
        Assert.False(File.Exists("/tmp/isola-escape-test"));
    }

    [Fact]
    public async Task Only_its_own_env_vars_are_visible()
    {
        var own = await ProbeAsync("env", "OWN_VAR");
        Assert.True(own.GetProperty("escaped").GetBoolean());
        Assert.Equal("mine", own.GetProperty("value").GetString());
        foreach (var hostVariable in new[] { "PATH", "HOME", "ISOLA_DENO", "DENO_DIR" })
        {
            Assert.False((await ProbeAsync("env", hostVariable)).GetProperty("escaped").GetBoolean(), hostVariable);
        }

        var all = await ProbeAsync("envall", "");
        Assert.Equal("""{"OWN_VAR":"mine"}""", all.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Processes_cannot_be_spawned_nor_native_code_loaded()
    {
        var run = await ProbeAsync("run", "");
        Assert.False(run.GetProperty("escaped").GetBoolean(), run.ToString());
        Assert.Equal("NotCapable", run.GetProperty("error").GetString());
        var ffi = await ProbeAsync("ffi", "");
        Assert.False(ffi.GetProperty("escaped").GetBoolean(), ffi.ToString());
    }

    [Fact]
    public async Task The_host_port_the_database_socket_and_link_local_addresses_are_unreachable()
    {
        var port = Host.Url.Port;
        foreach (var url in new[] { $"http://127.0.0.1:{port}/health", $"http://localhost:{port}/health", "http://169.254.169.254/latest/meta-data/" })
        {
            var result = await ProbeAsync("fetch", url);
            Assert.False(result.GetProperty("escaped").GetBoolean(), url + ": " + result);
        }

        var socketDir = new Npgsql.NpgsqlConnectionStringBuilder(Host.ConnectionString).Host!;
        var unix = await ProbeAsync("unix", Path.Combine(socketDir, ".s.PGSQL.5432"));
        Assert.False(unix.GetProperty("escaped").GetBoolean(), unix.ToString());
    }

    [Fact]
    public async Task Outbound_fetch_to_a_loopback_service_needs_allowPrivate()
    {
        using var upstream = await LoopbackServer.StartAsync(context => context.Response.WriteAsync("upstream"));
        var refused = await ProbeAsync("fetch", upstream.Url + "/");
        Assert.False(refused.GetProperty("escaped").GetBoolean(), refused.ToString());

        await fixture.DeployFixtureAsync("probe-private", "gateway/sandbox-probe/index.ts", new Dictionary<string, object?>
        {
            ["network"] = new Dictionary<string, object> { ["allowPrivate"] = true },
        });
        await FirstCall.WarmAsync(Host, "probe-private");
        var result = await (await Host.Caller.GetAsync($"/v1/default/fn/probe-private/fetch?target={Uri.EscapeDataString(upstream.Url + "/")}")).ShouldSucceedAsync();
        Assert.True(result.GetProperty("escaped").GetBoolean(), result.ToString());
        Assert.Equal("200", result.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Tmp_is_the_functions_own_and_is_wiped_between_invocations()
    {
        var first = (await ProbeAsync("tmp", "")).GetProperty("value").GetString()!.Split('|');
        var second = (await ProbeAsync("tmp", "")).GetProperty("value").GetString()!.Split('|');
        Assert.Equal("1", first[1]);
        Assert.Equal("1", second[1]); // the first probe's file is gone
        Assert.StartsWith(Path.Combine(Host.Options.DataDir, "workers") + "/", first[0], StringComparison.Ordinal); // its own folder, not the host's /tmp
    }

    private async Task<string> WriteHostSecretAsync(string name)
    {
        var path = Path.Combine(Host.Options.DataDir, name);
        if (!File.Exists(path))
        {
            await File.WriteAllTextAsync(path, "host secret");
        }

        return path;
    }

    private async Task<JsonElement> ProbeAsync(string probe, string target) =>
        await (await Host.Caller.GetAsync($"/v1/default/fn/probe/{probe}?target={Uri.EscapeDataString(target)}")).ShouldSucceedAsync();
}
