using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Isola.Host.Hosting;
using Npgsql;

namespace Isola.Host.Tests.Infrastructure;

/// <summary>
/// A real Isola node in the test process: real Kestrel on 127.0.0.1 with a free port, a fresh
/// database in the shared cluster, real Deno builds. Clients are real <see cref="HttpClient"/>s.
/// </summary>
internal sealed class TestHost : IAsyncDisposable
{
    private readonly IsolaServer _server;
    private readonly bool _ownsDataDir;

    private TestHost(IsolaServer server, IsolaOptions options, bool ownsDataDir)
    {
        _server = server;
        Options = options;
        _ownsDataDir = ownsDataDir;
        Client = new HttpClient { BaseAddress = server.Url };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", server.AdminKey.Key);
        Anonymous = new HttpClient { BaseAddress = server.Url };
    }

    public IsolaOptions Options { get; }

    /// <summary>Sends the admin key.</summary>
    public HttpClient Client { get; }

    /// <summary>Sends no credentials.</summary>
    public HttpClient Anonymous { get; }

    /// <summary>Sends the default app's anon key, as supabase-js does: what a function's default access (any valid JWT) asks for.</summary>
    public HttpClient Caller { get; private set; } = null!;

    /// <summary>The default app's anon key.</summary>
    public string AnonKey { get; private set; } = null!;

    public Uri Url => _server.Url;

    public IsolaServer Server => _server;

    public string ConnectionString => Options.DatabaseUrl!;

    public static IsolaOptions NewOptions(string? databaseUrl, string? dataDir = null) => new()
    {
        DataDir = dataDir ?? TestEnvironment.CreateScratch("node"),
        Port = 0,
        DatabaseUrl = databaseUrl,
        MasterKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        AdminKey = "isola_sk_test_" + Guid.NewGuid().ToString("N"),
        DenoPath = TestEnvironment.DenoPath,
        DenoCacheDir = TestEnvironment.SharedDenoCache,
        // Control-plane tests never run functions; tests that do ask for pre-started workers themselves.
        Workers = new Isola.Host.Workers.WorkerOptions { Prestarted = 0 },
    };

    /// <summary>Starts a node on a fresh database of the shared cluster.</summary>
    public static async Task<TestHost> StartAsync(Func<IsolaOptions, IsolaOptions>? configure = null)
    {
        var options = NewOptions(await SharedPostgres.CreateDatabaseAsync());
        return await StartAsync(configure is null ? options : configure(options), ownsDataDir: true);
    }

    public static async Task<TestHost> StartAsync(IsolaOptions options, bool ownsDataDir)
    {
        var server = await IsolaServer.StartAsync(options, LogLevel.Warning, CancellationToken.None);
        var host = new TestHost(server, options, ownsDataDir);
        try
        {
            var auth = await (await host.Client.GetAsync("/v1/apps/default/auth")).ShouldSucceedAsync();
            host.AnonKey = auth.GetProperty("anonKey").GetString()!;
            host.Caller = new HttpClient { BaseAddress = server.Url };
            host.Caller.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", host.AnonKey);
            host.Caller.DefaultRequestHeaders.Add("apikey", host.AnonKey);
            return host;
        }
        catch
        {
            // A node that started must stop, or its PostgreSQL and workers outlive the test run.
            await host.DisposeAsync();
            throw;
        }
    }

    public async Task<HttpResponseMessage> DeployAsync(object body, string app = "default") =>
        await Client.PostAsJsonAsync($"/v1/{app}/functions", body);

    public async Task<NpgsqlConnection> OpenDatabaseAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Anonymous.Dispose();
        Caller?.Dispose();
        await _server.DisposeAsync();
        if (_ownsDataDir)
        {
            TestEnvironment.DeleteScratch(Options.DataDir);
        }
    }
}

/// <summary>Reading helpers for responses, so assertions say what they check.</summary>
internal static class ResponseExtensions
{
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        try
        {
            return JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new Xunit.Sdk.XunitException($"expected JSON, got {(int)response.StatusCode}: {text}");
        }
    }

    /// <summary>Asserts the status and the error contract's code, and returns the error object.</summary>
    public static async Task<JsonElement> ShouldFailAsync(this HttpResponseMessage response, int status, string code)
    {
        var body = await response.JsonAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status} {code}, got {(int)response.StatusCode}: {body}");
        var error = body.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Equal(code, response.Headers.GetValues("x-isola-error-code").Single());
        Assert.Equal("true", response.Headers.GetValues("x-relay-error").Single());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        return error;
    }

    /// <summary>Fails with the body when the status is not 2xx (for responses that need not be JSON).</summary>
    public static async Task EnsureSuccessOrExplainAsync(this HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw new Xunit.Sdk.XunitException($"expected success, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>Accepts success, or a 409 when a shared fixture already made the thing.</summary>
    public static async Task EnsureSuccessOrNoteExistsAsync(this HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode && response.StatusCode != System.Net.HttpStatusCode.Conflict)
        {
            throw new Xunit.Sdk.XunitException($"expected success or 409, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
    }

    public static async Task<JsonElement> ShouldSucceedAsync(this HttpResponseMessage response, int status = 200)
    {
        var body = await response.JsonAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {body}");
        return body;
    }
}
