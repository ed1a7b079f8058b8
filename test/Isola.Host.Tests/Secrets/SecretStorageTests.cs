using System.Net.Http.Json;
using Isola.Host.Hosting;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Isola.Host.Tests.Secrets;

/// <summary>feature C5: env values are sealed at rest and never come back out of the API.</summary>
public sealed class SecretStorageTests
{
    private const string Code = "export default (req, ctx) => new Response(ctx.env.API_KEY);";
    private const string Plaintext = "s3cr3t-value-7f1c9a";

    [Fact]
    public async Task Env_values_are_stored_encrypted_and_only_their_names_are_shown()
    {
        await using var host = await TestHost.StartAsync();
        var envVars = new Dictionary<string, string> { ["API_KEY"] = Plaintext, ["BASE_URL"] = "https://api.example.com" };
        var created = await (await host.DeployAsync(new { name = "with-secrets", code = Code, envVars })).ShouldSucceedAsync(201);
        Assert.Equal(["API_KEY", "BASE_URL"], created.GetProperty("envVars").EnumerateArray().Select(e => e.GetString()!));

        foreach (var path in new[] { "/v1/default/functions", "/v1/default/functions/with-secrets", "/v1/default/functions/with-secrets/config", "/v1/default/functions/with-secrets/versions", "/functions/list" })
        {
            var text = await (await host.Client.GetAsync(path)).Content.ReadAsStringAsync();
            Assert.DoesNotContain(Plaintext, text);
            Assert.DoesNotContain("api.example.com", text);
        }

        await using var db = await host.OpenDatabaseAsync();
        await using var dump = new NpgsqlCommand("select string_agg(t::text, '|') from (select * from isola.function_versions) t", db);
        var rows = (string)(await dump.ExecuteScalarAsync())!;
        Assert.DoesNotContain(Plaintext, rows);
        Assert.DoesNotContain("api.example.com", rows);
        Assert.Contains("API_KEY", rows); // names stay readable

        // The sealed value opens with the node's key, bound to this function and name.
        var box = host.Server.Services.GetRequiredService<Isola.Host.Secrets.SecretBox>();
        await using var env = new NpgsqlCommand("select f.id, v.env->>'API_KEY' from isola.function_versions v join isola.functions f on f.id = v.function_id", db);
        await using var reader = await env.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        var functionId = reader.GetGuid(0);
        var sealedValue = reader.GetString(1);
        Assert.Equal(Plaintext, box.Open(sealedValue, Isola.Host.Functions.FunctionService.EnvAssociatedData(functionId, "API_KEY")));
        Assert.ThrowsAny<System.Security.Cryptography.CryptographicException>(() =>
        {
            box.Open(sealedValue, Isola.Host.Functions.FunctionService.EnvAssociatedData(functionId, "BASE_URL"));
        });
    }

    [Fact]
    public async Task An_update_without_envVars_keeps_them_and_with_envVars_replaces_them()
    {
        await using var host = await TestHost.StartAsync();
        await (await host.DeployAsync(new { name = "env-keep", code = Code, envVars = new Dictionary<string, string> { ["API_KEY"] = Plaintext } })).ShouldSucceedAsync(201);
        var kept = await (await host.Client.PutAsJsonAsync("/v1/default/functions/env-keep", new { timeoutMs = 1000 })).ShouldSucceedAsync();
        Assert.Equal(["API_KEY"], kept.GetProperty("envVars").EnumerateArray().Select(e => e.GetString()!));
        var replaced = await (await host.Client.PutAsJsonAsync("/v1/default/functions/env-keep",
            new { envVars = new Dictionary<string, string> { ["OTHER"] = "x" } })).ShouldSucceedAsync();
        Assert.Equal(["OTHER"], replaced.GetProperty("envVars").EnumerateArray().Select(e => e.GetString()!));
    }

    [Fact]
    public async Task A_wrong_master_key_stops_start_with_a_clear_message()
    {
        var database = await SharedPostgres.CreateDatabaseAsync();
        var options = TestHost.NewOptions(database);
        await using (var first = await TestHost.StartAsync(options, ownsDataDir: false))
        {
            await (await first.DeployAsync(new { name = "sealed", code = Code, envVars = new Dictionary<string, string> { ["API_KEY"] = Plaintext } })).ShouldSucceedAsync(201);
        }

        var wrongKey = options with { MasterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) };
        var failure = await Assert.ThrowsAsync<StartupException>(() => TestHost.StartAsync(wrongKey, ownsDataDir: false));
        Assert.Contains("master key does not match", failure.Message);

        var malformed = options with { MasterKey = "c2hvcnQ=" };
        var badFormat = await Assert.ThrowsAsync<StartupException>(() => TestHost.StartAsync(malformed, ownsDataDir: false));
        Assert.Contains("exactly 32 bytes", badFormat.Message);

        // The right key still works afterwards: the failed starts changed nothing.
        await using var again = await TestHost.StartAsync(options, ownsDataDir: true);
        await (await again.Client.GetAsync("/v1/default/functions/sealed")).ShouldSucceedAsync();
    }
}
