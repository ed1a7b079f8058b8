namespace Isola.Host.Tests.Infrastructure;

/// <summary>One <see cref="TestHost"/> shared by the tests of a class (xUnit class fixture).</summary>
public sealed class HostFixture : IAsyncLifetime
{
    internal TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await TestHost.StartAsync(options => options with { MaxCodeBytes = 64 * 1024 });

    public async Task DisposeAsync() => await Host.DisposeAsync();
}
