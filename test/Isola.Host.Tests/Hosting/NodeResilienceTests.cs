using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Isola.Host.Data;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Hosting;

/// <summary>
/// Whole nodes (<c>isola serve</c> out of process) meeting what operators meet: a private data dir,
/// a PostgreSQL that dies under them, a SIGTERM while workers cannot start.
/// </summary>
public sealed class NodeResilienceTests
{
    [Fact]
    public async Task A_private_0700_data_dir_as_made_by_mktemp_serves()
    {
        var dataDir = TestEnvironment.CreateScratch("private");
        File.SetUnixFileMode(dataDir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        try
        {
            await using var node = IsolaProcess.Start(dataDir);
            var url = await node.WaitReadyAsync();
            using var client = new HttpClient { BaseAddress = url };
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health")).StatusCode);
            // Traverse only: the PostgreSQL user may pass through, nobody else may list the keys.
            var mode = File.GetUnixFileMode(dataDir);
            Assert.Equal(UnixFileMode.None, mode & (UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite));
            Assert.Equal(0, await node.TerminateAsync());
        }
        finally
        {
            TestEnvironment.DeleteScratch(dataDir);
        }
    }
}
