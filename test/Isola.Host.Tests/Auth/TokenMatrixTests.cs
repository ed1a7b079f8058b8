using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Auth;

/// <summary>
/// feature A1–A3: every kind of credential against every access setting, with the outcome the table in
/// docs/access-control.md promises. Rejections happen at the gateway, before any worker.
/// </summary>
public sealed class TokenMatrixTests(AuthFixture fixture) : IClassFixture<AuthFixture>, IAsyncLifetime
{
    private const string App = "matrix";

    // Function settings under test, by name.
    private static readonly Dictionary<string, object> Settings = new()
    {
        ["default"] = new { },
        ["no-verify"] = new { verifyJwt = false },
        ["open"] = new { allowUnauthenticated = true },
        ["public"] = new { auth = "public" },
        ["guest"] = new { auth = "guest" },
        ["user"] = new { auth = "user" },
        ["admin"] = new { auth = "admin" },
        ["internal"] = new { @internal = true, allowUnauthenticated = true },
    };

    private static readonly string[] Columns = ["default", "no-verify", "open", "public", "guest", "user", "admin", "internal"];

    // Expected status per credential, in the order of Columns.
    public static TheoryData<string, int[]> Matrix() => new()
    {
        { "none", [401, 200, 200, 200, 401, 401, 401, 404] },
        { "anon key", [200, 200, 200, 200, 200, 401, 401, 404] },
        { "anon key as apikey header", [200, 200, 200, 200, 200, 401, 401, 404] },
        { "user token", [200, 200, 200, 200, 200, 200, 403, 404] },
        { "admin token", [200, 200, 200, 200, 200, 200, 200, 404] },
        { "service key", [200, 200, 200, 200, 200, 200, 200, 404] },
        { "api key with execute", [200, 200, 200, 200, 200, 200, 200, 404] },
        { "api key without execute", [403, 403, 403, 403, 403, 403, 403, 404] },
        { "unknown api key", [401, 401, 401, 401, 401, 401, 401, 404] },
        { "expired token", [401, 200, 401, 401, 401, 401, 401, 404] },
        { "not yet valid token", [401, 200, 401, 401, 401, 401, 401, 404] },
        { "wrong signature", [401, 200, 401, 401, 401, 401, 401, 404] },
        { "wrong audience", [401, 200, 401, 401, 401, 401, 401, 404] },
        { "alg none", [401, 200, 401, 401, 401, 401, 401, 404] },
        { "malformed", [401, 200, 401, 401, 401, 401, 401, 404] },
        { "other app's token", [401, 200, 401, 401, 401, 401, 401, 404] },
    };

    public async Task InitializeAsync()
    {
        var apps = await (await fixture.Host.Client.GetAsync("/v1/apps")).ShouldSucceedAsync();
        if (apps.GetProperty("apps").EnumerateArray().Any(a => a.GetProperty("id").GetString() == App))
        {
            return;
        }

        await (await fixture.Host.Client.PostAsJsonAsync("/v1/apps", new { id = App })).ShouldSucceedAsync(201);
        await (await fixture.Host.Client.PutAsJsonAsync($"/v1/apps/{App}/auth", new { audience = "isola-matrix" })).ShouldSucceedAsync();
        var code = TestEnvironment.Fixture("auth/whoami/index.ts");
        foreach (var (name, settings) in Settings)
        {
            var body = JsonNode.Parse(System.Text.Json.JsonSerializer.Serialize(settings))!.AsObject();
            body["name"] = name;
            body["code"] = code;
            await (await fixture.Host.DeployAsync(body, App)).ShouldSucceedAsync(201);
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task Each_credential_gets_the_documented_answer_from_each_setting(string credential, int[] expected)
    {
        using var client = await ClientForAsync(credential);
        for (var i = 0; i < Columns.Length; i++)
        {
            var response = await client.GetAsync($"/v1/{App}/fn/{Columns[i]}");
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode == expected[i], $"{credential} → {Columns[i]}: expected {expected[i]}, got {(int)response.StatusCode} {body}");
            if (expected[i] is 401 or 403)
            {
                Assert.Equal("true", response.Headers.GetValues("x-relay-error").Single());
            }
        }
    }

    [Fact]
    public async Task The_function_sees_who_called_in_ctx_auth_and_the_MolnOS_context()
    {
        var token = await fixture.UserTokenAsync(App, "user-42", ["editor", "admin"], "ada@example.com");
        using var client = fixture.ClientWith(token);
        var seen = await (await client.GetAsync($"/v1/{App}/fn/user")).ShouldSucceedAsync();
        var auth = seen.GetProperty("auth");
        Assert.Equal("user", auth.GetProperty("kind").GetString());
        Assert.Equal("user-42", auth.GetProperty("userId").GetString());
        Assert.Equal("ada@example.com", auth.GetProperty("email").GetString());
        Assert.Equal(["editor", "admin"], auth.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!));
        Assert.True(auth.GetProperty("isAdmin").GetBoolean());
        Assert.Equal("authenticated", auth.GetProperty("role").GetString());
        Assert.Equal("user-42", seen.GetProperty("user").GetProperty("id").GetString());
        Assert.Equal("Bearer " + token, seen.GetProperty("authorization").GetString()); // the end user's token is forwarded

        await (await fixture.Host.Client.PostAsJsonAsync($"/v1/{App}/functions", new
        {
            name = "molnos-who",
            code = TestEnvironment.Fixture("auth/whoami-molnos/index.js"),
        })).EnsureSuccessOrNoteExistsAsync();
        var molnos = await (await client.GetAsync($"/v1/{App}/fn/molnos-who")).ShouldSucceedAsync();
        Assert.Equal("user-42", molnos.GetProperty("auth").GetProperty("userId").GetString());
        Assert.Equal("user-42", molnos.GetProperty("user").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Service_callers_run_as_service_and_a_platform_key_never_reaches_the_function()
    {
        var apiKey = await fixture.CreateKeyAsync(["functions.execute"]);
        using (var client = fixture.ClientWith(apiKey, apikey: apiKey))
        {
            var response = await client.GetAsync($"/v1/{App}/fn/user");
            var seen = await response.ShouldSucceedAsync();
            Assert.Equal("service", seen.GetProperty("auth").GetProperty("role").GetString());
            Assert.Equal("service", seen.GetProperty("auth").GetProperty("kind").GetString());
            Assert.Equal(System.Text.Json.JsonValueKind.Null, seen.GetProperty("authorization").ValueKind);
            Assert.Equal(System.Text.Json.JsonValueKind.Null, seen.GetProperty("apikey").ValueKind);

            var id = response.Headers.GetValues("x-isola-invocation-id").Single();
            var logs = await InvocationLogs.WaitForAsync(fixture.Host, "user", id, inv => inv.GetProperty("logs").GetArrayLength() > 0, app: App);
            Assert.Equal("service", logs.GetProperty("callerKind").GetString());
            Assert.DoesNotContain(apiKey, logs.ToString());
        }

        var (_, serviceKey) = await fixture.AppKeysAsync(App);
        using var service = fixture.ClientWith(serviceKey);
        var viaServiceKey = await (await service.GetAsync($"/v1/{App}/fn/admin")).ShouldSucceedAsync();
        Assert.Equal("service", viaServiceKey.GetProperty("auth").GetProperty("role").GetString());
    }

    [Fact]
    public async Task The_invocation_log_records_the_caller_kind_and_user_id()
    {
        using var client = fixture.ClientWith(await fixture.UserTokenAsync(App, "logged-user", []));
        var response = await client.GetAsync($"/v1/{App}/fn/guest");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = await InvocationLogs.WaitForAsync(fixture.Host, "guest", response.Headers.GetValues("x-isola-invocation-id").Single(), _ => true, app: App);
        Assert.Equal("user", record.GetProperty("callerKind").GetString());
        Assert.Equal("logged-user", record.GetProperty("userId").GetString());
    }

    [Fact]
    public async Task A_rejected_call_never_starts_or_touches_a_worker()
    {
        await using var host = await TestHost.StartAsync();
        await (await host.DeployAsync(new { name = "guarded", code = "export default () => new Response('x')", auth = "admin" })).ShouldSucceedAsync(201);
        var supervisor = host.Server.Services.GetRequiredService<WorkerSupervisor>();
        var (slots, started) = (supervisor.SlotsRequested, supervisor.WorkersStarted);
        foreach (var token in new[] { null, "garbage", host.AnonKey, "isola_sk_unknown" })
        {
            using var client = new HttpClient { BaseAddress = host.Url };
            if (token is not null)
            {
                client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            }

            var response = await client.GetAsync("/v1/default/fn/guarded");
            Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, token ?? "none");
        }

        Assert.Equal(slots, supervisor.SlotsRequested);
        Assert.Equal(started, supervisor.WorkersStarted);
        Assert.Equal(0, supervisor.WorkersStarted); // nothing was pre-started either, so not one process ran
    }

    [Fact]
    public async Task Rotating_the_secret_revokes_every_token_signed_with_it()
    {
        await (await fixture.Host.Client.PostAsJsonAsync("/v1/apps", new { id = "rotating" })).EnsureSuccessOrNoteExistsAsync();
        await (await fixture.Host.DeployAsync(new { name = "fn", code = "export default () => new Response('ok')" }, "rotating")).EnsureSuccessOrNoteExistsAsync();
        var (oldAnon, _) = await fixture.AppKeysAsync("rotating");
        var oldUser = await fixture.UserTokenAsync("rotating", "u", []);
        using (var before = fixture.ClientWith(oldAnon))
        {
            Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/v1/rotating/fn/fn")).StatusCode);
        }

        var rotated = await (await fixture.Host.Client.PostAsync("/v1/apps/rotating/auth/rotate", null)).ShouldSucceedAsync();
        Assert.NotEqual(oldAnon, rotated.GetProperty("anonKey").GetString());
        foreach (var stale in new[] { oldAnon, oldUser })
        {
            using var client = fixture.ClientWith(stale);
            await (await client.GetAsync("/v1/rotating/fn/fn")).ShouldFailAsync(401, "AUTH_REQUIRED");
        }

        using var after = fixture.ClientWith(rotated.GetProperty("anonKey").GetString());
        Assert.Equal(HttpStatusCode.OK, (await after.GetAsync("/v1/rotating/fn/fn")).StatusCode);
    }

    [Fact]
    public async Task Dev_tokens_are_validated_and_admin_only()
    {
        await (await fixture.Host.Client.PostAsJsonAsync($"/v1/{App}/auth/token", new { email = "x@example.com" })).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await fixture.Host.Client.PostAsJsonAsync($"/v1/{App}/auth/token", new { sub = "u", expiresIn = 0 })).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await fixture.Host.Client.PostAsJsonAsync($"/v1/{App}/auth/token", new { sub = "u", roles = "admin" })).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await fixture.Host.Client.PostAsJsonAsync("/v1/nowhere/auth/token", new { sub = "u" })).ShouldFailAsync(404, "APP_NOT_FOUND");
        using var reader = fixture.ClientWith(await fixture.CreateKeyAsync(["functions.read", "functions.execute"]));
        await (await reader.PostAsJsonAsync($"/v1/{App}/auth/token", new { sub = "u" })).ShouldFailAsync(403, "FORBIDDEN");
    }

    private async Task<HttpClient> ClientForAsync(string credential)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var (anon, service) = await fixture.AppKeysAsync(App);
        JsonObject Claims(long exp, long? nbf = null, string aud = "isola-matrix") => new()
        {
            ["sub"] = "someone", ["role"] = "authenticated", ["aud"] = aud, ["exp"] = exp, ["nbf"] = nbf ?? now - 10,
        };
        return credential switch
        {
            "none" => fixture.ClientWith(null),
            "anon key" => fixture.ClientWith(anon),
            "anon key as apikey header" => fixture.ClientWith(null, apikey: anon),
            "user token" => fixture.ClientWith(await fixture.UserTokenAsync(App, "plain-user", ["reader"])),
            "admin token" => fixture.ClientWith(await fixture.UserTokenAsync(App, "boss", ["admin"])),
            "service key" => fixture.ClientWith(service),
            "api key with execute" => fixture.ClientWith(await fixture.CreateKeyAsync(["functions.execute"])),
            "api key without execute" => fixture.ClientWith(await fixture.CreateKeyAsync(["functions.read"])),
            "unknown api key" => fixture.ClientWith("isola_sk_definitely-not-issued"),
            "expired token" => fixture.ClientWith(await fixture.SignAsAppAsync(App, Claims(now - 3600))),
            "not yet valid token" => fixture.ClientWith(await fixture.SignAsAppAsync(App, Claims(now + 3600, nbf: now + 1800))),
            "wrong signature" => fixture.ClientWith(Jwt.SignHs256(Claims(now + 3600), System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))),
            "wrong audience" => fixture.ClientWith(await fixture.SignAsAppAsync(App, Claims(now + 3600, aud: "someone-else"))),
            "alg none" => fixture.ClientWith(
                Jwt.Base64Url("""{"alg":"none","typ":"JWT"}"""u8.ToArray()) + "." + Jwt.Base64Url(System.Text.Encoding.UTF8.GetBytes(Claims(now + 3600).ToJsonString())) + "."),
            "malformed" => fixture.ClientWith("not.a-jwt"),
            "other app's token" => fixture.ClientWith(await fixture.UserTokenAsync("default", "stranger", [])),
            _ => throw new ArgumentOutOfRangeException(nameof(credential)),
        };
    }
}
