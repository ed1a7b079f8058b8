using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>A node that runs functions: real Deno workers, one pre-started, small body limit for the 413 tests.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public const long BodyLimit = 1024 * 1024;

    internal TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await TestHost.StartAsync(options => options with
    {
        MaxRequestBodyBytes = BodyLimit,
        Workers = options.Workers with { Prestarted = 1 },
    });

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>Deploys a checked-in fixture under <paramref name="name"/>; extra fields are merged into the body.</summary>
    internal async Task DeployFixtureAsync(string name, string fixturePath, IDictionary<string, object?>? extra = null)
    {
        var body = new Dictionary<string, object?> { ["name"] = name, ["code"] = TestEnvironment.Fixture(fixturePath) };
        foreach (var (key, value) in extra ?? new Dictionary<string, object?>())
        {
            body[key] = value;
        }

        await (await Host.Client.PostAsJsonAsync("/v1/default/functions", body)).ShouldSucceedAsync(201);
    }
}
