using System.Net.Http.Headers;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Workers;

/// <summary>
/// <c>isola serve</c> as its own process with <c>ISOLA_RUNTIME</c> pointing at the fake worker, so the
/// real gateway classifies the fake's faults. Out of process because the runtime path is read from the
/// environment, which in this process every other test's node shares.
/// </summary>
public sealed class FakeWorkerNodeFixture : IAsyncLifetime
{
    private readonly string _dataDir = TestEnvironment.CreateScratch("fakenode");
    private IsolaProcess? _node;

    public HttpClient Admin { get; private set; } = null!;

    public HttpClient Anyone { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var adminKey = "isola_sk_fake_" + Guid.NewGuid().ToString("N");
        _node = IsolaProcess.Start(_dataDir, new Dictionary<string, string>
        {
            ["ISOLA_DATABASE_URL"] = await SharedPostgres.CreateDatabaseAsync(),
            ["ISOLA_RUNTIME"] = FakeWorkers.Script,
            ["ISOLA_ADMIN_KEY"] = adminKey,
        });
        var url = await _node.WaitReadyAsync();
        Admin = new HttpClient { BaseAddress = url };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        Anyone = new HttpClient { BaseAddress = url };
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        Anyone?.Dispose();
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }

        TestEnvironment.DeleteScratch(_dataDir);
    }
}
