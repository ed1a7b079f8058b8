using System.Net.Http.Json;
using Isola.Host.Realtime;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// A node with small realtime limits (so the tests reach them quickly) and the realtime fixture functions deployed:
/// <c>whoami</c> (event whoami), <c>members</c> (the same code, <c>auth: "user"</c>), <c>relay</c> (shout, tell,
/// boom, and HTTP) and <c>molnos</c> (a MolnOS handler).
/// </summary>
public sealed class RealtimeFixture : IAsyncLifetime
{
    internal static readonly RealtimeOptions Limits = new()
    {
        MaxMessageBytes = 32 * 1024,
        MessageBurst = 30,
        MessagesPerSecond = 1,
        SendQueueBytes = 256 * 1024,
        // A slow client in the test starts reading only after the flood that overflowed it has been answered.
        CloseTimeout = TimeSpan.FromSeconds(20),
    };

    internal TestHost Host { get; private set; } = null!;

    internal string UserA { get; } = "user-a-" + Guid.NewGuid().ToString("N")[..8];

    internal string UserB { get; } = "user-b-" + Guid.NewGuid().ToString("N")[..8];

    public async Task InitializeAsync()
    {
        Host = await TestHost.StartAsync(options => options with { Realtime = Limits, Workers = options.Workers with { Prestarted = 1 } });
        await DeployAsync(new { name = "whoami", code = TestEnvironment.Fixture("realtime/whoami/index.ts"), trigger = WebSocket("whoami") });
        await DeployAsync(new { name = "members", code = TestEnvironment.Fixture("realtime/whoami/index.ts"), trigger = WebSocket("members"), auth = "user" });
        await DeployAsync(new
        {
            name = "relay",
            code = TestEnvironment.Fixture("realtime/relay/index.ts"),
            triggers = new object[] { WebSocket("shout"), WebSocket("tell"), WebSocket("boom"), new { type = "http" } },
        });
        await DeployAsync(new { name = "molnos", code = TestEnvironment.Fixture("realtime/molnos/index.js"), trigger = WebSocket("molnos") });
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>A user token of the default app, valid for <paramref name="seconds"/>.</summary>
    internal async Task<string> UserTokenAsync(string sub, int seconds = 3600) =>
        (await (await Host.Client.PostAsJsonAsync("/v1/default/auth/token", new { sub, expiresIn = seconds })).ShouldSucceedAsync())
            .GetProperty("token").GetString()!;

    internal static object WebSocket(string eventName) => new { type = "websocket", config = new { @event = eventName } };

    private async Task DeployAsync(object body) => await (await Host.DeployAsync(body)).ShouldSucceedAsync(201);
}
