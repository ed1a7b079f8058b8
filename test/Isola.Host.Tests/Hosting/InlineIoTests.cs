using System.Net.Http.Headers;
using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Hosting;

/// <summary>
/// ISOLA_INLINE_IO (decision 032) reaches .NET's socket engine, which reads it once, at the first socket: inline it runs
/// one epoll thread per core (".NET Sockets"), handing completions to the thread pool it runs one. Either way a node
/// serves the API and its functions.
/// </summary>
public sealed class InlineIoTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("0")]
    public async Task The_setting_decides_how_sockets_complete_and_the_node_serves_either_way(string? value)
    {
        using var scratch = TestEnvironment.Scratch("inline-io");
        var environment = new Dictionary<string, string>();
        if (value is not null)
        {
            environment["ISOLA_INLINE_IO"] = value;
        }

        await using var node = IsolaProcess.Start(scratch.Path, environment);
        var url = await node.WaitReadyAsync();
        using var client = new HttpClient { BaseAddress = url };
        client.DefaultRequestHeaders.Authorization =
            new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(Path.Combine(scratch.Path, "admin.key"))).Trim());
        await (await client.PostAsJsonAsync("/v1/default/functions",
            new { name = "hello", allowUnauthenticated = true, code = "export default () => Response.json({ hi: 1 });" })).ShouldSucceedAsync(201);
        Assert.Equal(1, (await (await client.GetAsync("/v1/default/fn/hello")).ShouldSucceedAsync()).GetProperty("hi").GetInt32());

        var epollThreads = Directory.EnumerateDirectories($"/proc/{node.Pid}/task")
            .Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Sockets");
        if (value == "0")
        {
            // One engine per 30-odd cores when completions go to the pool: fewer than the cores, on any machine of more than one.
            Assert.True(epollThreads < Environment.ProcessorCount || Environment.ProcessorCount == 1, $"{epollThreads} epoll threads");
        }
        else
        {
            Assert.Equal(Environment.ProcessorCount, epollThreads);
        }
    }
}
