using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.TypedFunctions;

/// <summary>
/// A node whose default app has test/fixtures/typed/001_app.sql applied, a room, a team with two issues, and the
/// typed fixtures deployed under their file names (as Pylon names RPCs), seed 004's two among them unchanged.
/// </summary>
public sealed class TypedFixture : IAsyncLifetime
{
    public static readonly string[] Functions =
    [
        "createMessage", "listIssues", "everyValidator", "addNote", "rejectTitle", "writeInQuery", "sqlWriteInQuery", "postAs", "readNote", "bump",
        "assign", "triage", "listMessages", "recordRun", "scheduleThenFail", "entityTour", "countTo",
    ];

    internal TestHost Host { get; private set; } = null!;

    internal string UserA { get; } = Guid.NewGuid().ToString();

    internal string UserB { get; } = Guid.NewGuid().ToString();

    internal string RoomId { get; private set; } = null!;

    internal string TeamId { get; private set; } = null!;

    internal SqlExecutor Executor => Host.Server.Services.GetRequiredService<SqlExecutor>();

    public async Task InitializeAsync()
    {
        Host = await TestHost.StartAsync(options => options with { Workers = options.Workers with { Prestarted = 1 } });
        await (await Host.Client.PostAsJsonAsync("/v1/default/db/migrations", new { name = "001_app", sql = TestEnvironment.Fixture("typed/001_app.sql") }))
            .ShouldSucceedAsync(201);
        RoomId = (await RunAsync("insert into rooms (name) values ('general') returning id::text as id")).Rows[0]["id"]!.GetValue<string>();
        TeamId = (await RunAsync("insert into teams (name) values ('core') returning id::text as id")).Rows[0]["id"]!.GetValue<string>();
        await RunAsync("insert into issues (team_id, title) values ($1, 'first'), ($1, 'second')", TeamId);
        foreach (var name in Functions)
        {
            await DeployAsync(name);
        }
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    internal async Task DeployAsync(string name, string? code = null) =>
        await (await Host.DeployAsync(new { name, code = code ?? TestEnvironment.Fixture($"typed/{name}.ts") })).ShouldSucceedAsync(201);

    /// <summary>A client of <paramref name="node"/> (this fixture's by default) sending a user token of the default app (roles as given).</summary>
    internal async Task<HttpClient> UserAsync(string sub, params string[] roles) => await UserAsync(Host.Url, sub, roles);

    internal async Task<HttpClient> UserAsync(Uri node, string sub, params string[] roles)
    {
        var client = new HttpClient { BaseAddress = node };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await TokenAsync(sub, roles));
        return client;
    }

    internal async Task<string> TokenAsync(string sub, params string[] roles) =>
        (await (await Host.Client.PostAsJsonAsync("/v1/default/auth/token", new { sub, roles })).ShouldSucceedAsync()).GetProperty("token").GetString()!;

    /// <summary>A room of its own, so a test's messages are its alone.</summary>
    internal async Task<string> NewRoomAsync() =>
        (await RunAsync("insert into rooms (name) values ('room') returning id::text as id")).Rows[0]["id"]!.GetValue<string>();

    /// <summary>Runs SQL as service_role in the default app.</summary>
    internal Task<SqlResult> RunAsync(string sql, params object?[] parameters) =>
        Executor.ExecuteAsync("default", DbCaller.Service, sql, [.. parameters.Select(p => JsonSerializer.SerializeToElement(p))],
            DateTimeOffset.UtcNow.AddSeconds(30), CancellationToken.None);

    /// <summary>POSTs args to /v1/default/api/fn/{name}.</summary>
    internal static Task<HttpResponseMessage> CallAsync(HttpClient client, string name, object? args = null) =>
        client.PostAsJsonAsync($"/v1/default/api/fn/{name}", args ?? new { });
}
