using System.Text.Json;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Isola.Host.Tests.Data;

/// <summary>
/// A node whose <c>default</c> app has the notes schema (test/fixtures/data/001_notes.sql) applied
/// through the migrations API, with two notes of user A, one of user B and one announcement.
/// </summary>
public sealed class DataFixture : IAsyncLifetime
{
    public const string UserA = "aaaaaaaa-0000-4000-8000-000000000001";
    public const string UserB = "bbbbbbbb-0000-4000-8000-000000000002";

    internal TestHost Host { get; private set; } = null!;

    internal SqlExecutor Executor => Host.Server.Services.GetRequiredService<SqlExecutor>();

    internal AppDatabaseNames Names => Host.Server.Services.GetRequiredService<AppDatabaseNames>();

    public async Task InitializeAsync()
    {
        Host = await TestHost.StartAsync(options => options with { Data = options.Data with { MaxResultBytes = 256 * 1024 } });
        var migration = await Host.Client.PostAsync("/v1/default/db/migrations", Json(new { name = "001_notes", sql = TestEnvironment.Fixture("data/001_notes.sql") }));
        await migration.ShouldSucceedAsync(201);
        await RunAsync(DbCaller.Service, "insert into notes (owner, body) values ($1, 'a1'), ($1, 'a2'), ($2, 'b1')", UserA, UserB);
        await RunAsync(DbCaller.Service, "insert into announcements values (1, 'hello')");
    }

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>Runs one statement as <paramref name="caller"/> in the default app, with a generous deadline.</summary>
    internal Task<SqlResult> RunAsync(DbCaller caller, string sql, params object?[] parameters) =>
        RunInAsync("default", caller, sql, parameters);

    internal Task<SqlResult> RunInAsync(string app, DbCaller caller, string sql, params object?[] parameters) =>
        Executor.ExecuteAsync(app, caller, sql, [.. parameters.Select(p => JsonSerializer.SerializeToElement(p))],
            DateTimeOffset.UtcNow.AddSeconds(30), CancellationToken.None);

    /// <summary>A connection to the platform's own database, as the platform (superuser) connects.</summary>
    internal async Task<NpgsqlConnection> OpenAdminAsync(string? database = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(Host.ConnectionString) { Pooling = false };
        if (database is not null)
        {
            builder.Database = database;
        }

        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    internal static StringContent Json(object body) =>
        new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
