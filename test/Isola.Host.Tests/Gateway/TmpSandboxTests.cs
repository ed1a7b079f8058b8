using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// Each worker's private, bounded /tmp (fixture sandbox/tmp-probe), on a node whose workers get 8 MB
/// of tmp. Needs mount namespaces (root); elsewhere the node says so and literal /tmp stays refused.
/// </summary>
public sealed class TmpSandboxTests : IAsyncLifetime
{
    private const int TmpLimitMb = 8;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(options => options with { Workers = options.Workers with { Prestarted = 0, TmpLimitMb = TmpLimitMb } });
        foreach (var name in new[] { "tmp-a", "tmp-b" })
        {
            var body = new Dictionary<string, object?> { ["name"] = name, ["code"] = TestEnvironment.Fixture("sandbox/tmp-probe/index.ts") };
            await (await _host.Client.PostAsJsonAsync("/v1/default/functions", body)).ShouldSucceedAsync(201);
            await FirstCall.WarmAsync(_host, name);
        }
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static bool Namespaces => OperatingSystem.IsLinux() && Environment.UserName == "root";

    [Fact]
    public async Task Literal_tmp_works_as_in_supabase_guides_and_is_not_the_hosts()
    {
        if (!Namespaces)
        {
            return;
        }

        var name = "upload-" + Guid.NewGuid().ToString("N")[..8];
        var written = await ProbeAsync("tmp-a", "write", name);
        Assert.True(written.GetProperty("ok").GetBoolean(), written.ToString());
        Assert.Equal("uploaded " + name, written.GetProperty("value").GetString());
        Assert.False(File.Exists("/tmp/" + name)); // the host's /tmp is untouched

        // TMPDIR and Deno.makeTempFile keep working, in the same bounded space.
        var temp = await ProbeAsync("tmp-a", "tempfile", "");
        Assert.True(temp.GetProperty("ok").GetBoolean(), temp.ToString());
    }

    [Fact]
    public async Task Another_function_cannot_see_a_workers_tmp()
    {
        if (!Namespaces)
        {
            return;
        }

        var name = "held-" + Guid.NewGuid().ToString("N")[..8];
        using var hold = await _host.Caller.GetAsync($"/v1/default/fn/tmp-a/hold?name={name}", HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await hold.Content.ReadAsStreamAsync();
        using var reader = new StreamReader(stream);
        Assert.Equal("written", await reader.ReadLineAsync()); // the file exists in tmp-a's /tmp while its response is open

        var seen = await ProbeAsync("tmp-b", "exists", name);
        Assert.True(seen.GetProperty("ok").GetBoolean(), seen.ToString());
        Assert.False(seen.GetProperty("value").GetBoolean(), seen.ToString());
        Assert.False(File.Exists("/tmp/" + name));
    }

    [Fact]
    public async Task Writing_past_the_tmp_quota_fails_and_the_log_says_so()
    {
        if (!Namespaces)
        {
            return;
        }

        var small = await ProbeAsync("tmp-a", "fill", "small", mb: 2);
        Assert.True(small.GetProperty("ok").GetBoolean(), small.ToString());

        var response = await _host.Caller.GetAsync($"/v1/default/fn/tmp-a/fill?name=big&mb={TmpLimitMb + 4}");
        var big = await response.ShouldSucceedAsync();
        Assert.False(big.GetProperty("ok").GetBoolean(), big.ToString());
        Assert.Contains("No space left on device", big.GetProperty("message").GetString());

        var invocationId = response.Headers.GetValues("x-isola-invocation-id").Single();
        await InvocationLogs.WaitForAsync(_host, "tmp-a", invocationId, inv => inv.GetProperty("logs").EnumerateArray()
            .Any(line => line.GetProperty("msg").GetString()!.Contains($"tmp is full: this worker's /tmp holds at most {TmpLimitMb} MB", StringComparison.Ordinal)));

        // Through node:fs and not caught: a FUNCTION_ERROR whose log says the same.
        var node = await _host.Caller.GetAsync($"/v1/default/fn/tmp-a/nodefill?name=node&mb={TmpLimitMb + 4}");
        Assert.Equal(500, (int)node.StatusCode);
        await InvocationLogs.WaitForAsync(_host, "tmp-a", node.Headers.GetValues("x-isola-invocation-id").Single(), inv => inv.GetProperty("logs").EnumerateArray()
            .Any(line => line.GetProperty("msg").GetString()!.Contains("tmp is full", StringComparison.Ordinal)));

        // The next invocation starts with an emptied tmp and can write again.
        var after = await ProbeAsync("tmp-a", "fill", "again", mb: 2);
        Assert.True(after.GetProperty("ok").GetBoolean(), after.ToString());
    }

    private async Task<JsonElement> ProbeAsync(string function, string probe, string name, int mb = 1) =>
        await (await _host.Caller.GetAsync($"/v1/default/fn/{function}/{probe}?name={Uri.EscapeDataString(name)}&mb={mb}")).ShouldSucceedAsync();
}
