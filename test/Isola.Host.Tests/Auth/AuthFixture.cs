using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Auth;

/// <summary>A node for access-control tests, with helpers to make keys and tokens of every kind.</summary>
public sealed class AuthFixture : IAsyncLifetime
{
    internal TestHost Host { get; private set; } = null!;

    public async Task InitializeAsync() => Host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();

    /// <summary>Creates an API key through the API and returns its secret.</summary>
    internal async Task<string> CreateKeyAsync(string[] permissions, string? app = null, long? expiresIn = null)
    {
        var body = new Dictionary<string, object?> { ["name"] = "test-" + Guid.NewGuid().ToString("N")[..6], ["permissions"] = permissions };
        if (app is not null)
        {
            body["app"] = app;
        }

        if (expiresIn is not null)
        {
            body["expiresIn"] = expiresIn;
        }

        var created = await (await Host.Client.PostAsJsonAsync("/v1/keys", body)).ShouldSucceedAsync(201);
        return created.GetProperty("key").GetString()!;
    }

    internal HttpClient ClientWith(string? bearer, string? apikey = null)
    {
        var client = new HttpClient { BaseAddress = Host.Url };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        if (apikey is not null)
        {
            client.DefaultRequestHeaders.Add("apikey", apikey);
        }

        return client;
    }

    /// <summary>Mints an end-user token through the dev-token endpoint.</summary>
    internal async Task<string> UserTokenAsync(string app, string sub, string[] roles, string? email = null)
    {
        var minted = await (await Host.Client.PostAsJsonAsync($"/v1/{app}/auth/token", new { sub, email = email ?? sub + "@example.com", roles }))
            .ShouldSucceedAsync();
        return minted.GetProperty("token").GetString()!;
    }

    /// <summary>Signs arbitrary claims with the app's own secret (for expired, not-yet-valid or odd tokens).</summary>
    internal async Task<string> SignAsAppAsync(string app, JsonObject claims)
    {
        var auth = await Host.Server.Services.GetRequiredService<AppAuthStore>().GetAsync(app, CancellationToken.None);
        return Jwt.SignHs256(claims, auth.Secret);
    }

    internal async Task<(string Anon, string Service)> AppKeysAsync(string app)
    {
        var auth = await (await Host.Client.GetAsync($"/v1/apps/{app}/auth")).ShouldSucceedAsync();
        return (auth.GetProperty("anonKey").GetString()!, auth.GetProperty("serviceKey").GetString()!);
    }
}
