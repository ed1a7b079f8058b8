using System.Net.Http.Json;
using System.Text;
using Isola.Host.Tests.Infrastructure;
using Npgsql;

namespace Isola.Host.Tests.Secrets;

/// <summary>feature C5, per app: <c>/v1/{app}/secrets</c> sealed, names only, seen by every function of the app, a function's own value winning, no redeploy needed.</summary>
public sealed class AppSecretsTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private const string Plaintext = "app-s3cr3t-41c7";

    // Reads the variables both ways a function can (C5): Deno.env.get and ctx.env.
    private const string EnvEcho = """
        export default (req, ctx) => Response.json({
          env: Deno.env.get("SHARED") ?? null, ctx: ctx.env.SHARED ?? null, other: Deno.env.get("OTHER") ?? null,
        });
        """;

    private TestHost Host => fixture.Host;

    [Fact]
    public async Task Every_function_of_the_app_sees_a_secret_and_a_change_applies_to_the_next_call_without_a_redeploy()
    {
        var app = await NewAppAsync();
        await (await Host.DeployAsync(new { name = "one", code = EnvEcho, allowUnauthenticated = true }, app)).ShouldSucceedAsync(201);
        await (await Host.DeployAsync(new { name = "two", code = EnvEcho, allowUnauthenticated = true }, app)).ShouldSucceedAsync(201);
        Assert.Equal("null", (await CallAsync(app, "one")).GetProperty("env").GetRawText()); // a warm worker from before any secret

        await (await Host.Client.PutAsJsonAsync($"/v1/{app}/secrets", new Dictionary<string, string> { ["SHARED"] = "first", ["OTHER"] = "x" })).ShouldSucceedAsync();
        foreach (var function in new[] { "one", "two" })
        {
            var seen = await CallAsync(app, function);
            Assert.Equal("first", seen.GetProperty("env").GetString());
            Assert.Equal("first", seen.GetProperty("ctx").GetString());
        }

        await (await Host.Client.PutAsJsonAsync($"/v1/{app}/secrets", new Dictionary<string, string> { ["SHARED"] = "second" })).ShouldSucceedAsync();
        var after = await CallAsync(app, "one");
        Assert.Equal("second", after.GetProperty("env").GetString());
        Assert.Equal("x", after.GetProperty("other").GetString()); // a set keeps the others

        await (await Host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/v1/{app}/secrets") { Content = JsonContent.Create(new[] { "SHARED" }) }))
            .ShouldSucceedAsync();
        Assert.Equal("null", (await CallAsync(app, "two")).GetProperty("env").GetRawText());
        var versions = await (await Host.Client.GetAsync($"/v1/{app}/functions/one/versions")).ShouldSucceedAsync();
        Assert.Equal(1, versions.GetProperty("current").GetInt32()); // no redeploy made a version
    }

    [Fact]
    public async Task A_functions_own_env_var_wins_over_the_app_secret_of_the_same_name()
    {
        var app = await NewAppAsync();
        await (await Host.Client.PutAsJsonAsync($"/v1/{app}/secrets", new Dictionary<string, string> { ["SHARED"] = "from-app" })).ShouldSucceedAsync();
        await (await Host.DeployAsync(new { name = "own", code = EnvEcho, allowUnauthenticated = true, envVars = new Dictionary<string, string> { ["SHARED"] = "from-function" } }, app))
            .ShouldSucceedAsync(201);
        await (await Host.DeployAsync(new { name = "plain", code = EnvEcho, allowUnauthenticated = true }, app)).ShouldSucceedAsync(201);

        Assert.Equal("from-function", (await CallAsync(app, "own")).GetProperty("env").GetString());
        Assert.Equal("from-app", (await CallAsync(app, "plain")).GetProperty("env").GetString());

        // Removing the function's own value (a new version) lets the app's show through.
        var edited = await (await Host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/v1/{app}/functions/own/secrets")
        {
            Content = JsonContent.Create(new { names = new[] { "SHARED" } }),
        })).ShouldSucceedAsync();
        Assert.Equal(2, edited.GetProperty("version").GetInt32());
        Assert.Equal("from-app", (await CallAsync(app, "own")).GetProperty("env").GetString());
    }

    [Fact]
    public async Task Values_are_sealed_at_rest_and_reads_give_names_only()
    {
        var app = await NewAppAsync();
        // Supabase's list form works as well as an object.
        var set = await (await Host.Client.PutAsJsonAsync($"/v1/{app}/secrets", new[] { new { name = "API_TOKEN", value = Plaintext } })).ShouldSucceedAsync();
        Assert.Equal(["API_TOKEN"], set.GetProperty("secrets").EnumerateArray().Select(name => name.GetString()!));

        var listed = await Host.Client.GetStringAsync($"/v1/{app}/secrets");
        Assert.Contains("API_TOKEN", listed, StringComparison.Ordinal);
        Assert.DoesNotContain(Plaintext, listed, StringComparison.Ordinal);

        await using var db = await Host.OpenDatabaseAsync();
        await using var dump = new NpgsqlCommand("select t::text from isola.app_secrets t where app_id = $1", db) { Parameters = { new() { Value = app } } };
        var row = (string)(await dump.ExecuteScalarAsync())!;
        Assert.Contains("API_TOKEN", row, StringComparison.Ordinal);
        Assert.DoesNotContain(Plaintext, row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_secrets_are_refused_naming_what_is_wrong()
    {
        var app = await NewAppAsync();
        var badName = await (await Host.Client.PutAsync($"/v1/{app}/secrets", Json("""{"1BAD": "x"}"""))).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("secrets.1BAD", badName.GetProperty("field").GetString());
        var reserved = await (await Host.Client.PutAsync($"/v1/{app}/secrets", Json("""{"ISOLA_X": "x"}"""))).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Contains("reserved prefix", reserved.GetProperty("message").GetString(), StringComparison.Ordinal);
        await (await Host.Client.PutAsync($"/v1/{app}/secrets", Json("""{"A": 1}"""))).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await Host.Client.PutAsync($"/v1/{app}/secrets", Json("\"A=1\""))).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await Host.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, $"/v1/{app}/secrets") { Content = Json("[]") })).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await Host.Client.PutAsync("/v1/no-such-app/secrets", Json("""{"A": "1"}"""))).ShouldFailAsync(404, "APP_NOT_FOUND");
        await (await Host.Client.GetAsync($"/v1/{app}/functions/nope/secrets")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");

        var many = "{" + string.Join(',', Enumerable.Range(0, 101).Select(i => $"\"S{i}\": \"v\"")) + "}";
        await (await Host.Client.PutAsync($"/v1/{app}/secrets", Json(many))).ShouldFailAsync(400, "INVALID_REQUEST");
    }

    private async Task<string> NewAppAsync()
    {
        var app = "sec-" + Guid.NewGuid().ToString("N")[..10];
        await (await Host.Client.PostAsJsonAsync("/v1/apps", new { id = app })).ShouldSucceedAsync(201);
        return app;
    }

    private async Task<System.Text.Json.JsonElement> CallAsync(string app, string function) =>
        await (await Host.Anonymous.GetAsync($"/v1/{app}/fn/{function}")).ShouldSucceedAsync();

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");
}
