using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Api;

public sealed class FunctionCrudTests : IAsyncLifetime
{
    private const string HelloV1 = "export default async function handler(req) {\n  return new Response(JSON.stringify({ message: 'Hello!' }), { headers: { 'Content-Type': 'application/json' } });\n}\n";
    private const string HelloV2 = "export default async function handler(req: Request): Promise<Response> {\n  return Response.json({ message: 'Hello again' });\n}\n";
    private TestHost _host = null!;

    public async Task InitializeAsync() => _host = await TestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task Create_get_config_list_update_versions_rollback_delete_round_trip()
    {
        var created = await (await _host.DeployAsync(new
        {
            name = "hello-world",
            code = HelloV1,
            description = "A simple greeting function",
            trigger = new { type = "http", config = new { } },
            envVars = new Dictionary<string, string> { ["GREETING"] = "hi" },
        })).ShouldSucceedAsync(201);
        Assert.Equal("hello-world", created.GetProperty("name").GetString());
        Assert.Equal(1, created.GetProperty("version").GetInt32());
        Assert.Equal($"{_host.Url.ToString().TrimEnd('/')}/v1/default/fn/hello-world", created.GetProperty("endpoint").GetString());
        Assert.Equal(30000, created.GetProperty("timeoutMs").GetInt32());
        Assert.Equal(128, created.GetProperty("memoryLimitMb").GetInt32());
        Assert.Equal("http", created.GetProperty("triggers")[0].GetProperty("type").GetString());
        Assert.Equal(["GREETING"], created.GetProperty("envVars").EnumerateArray().Select(e => e.GetString()!));
        Assert.False(created.TryGetProperty("code", out _));
        var id = created.GetProperty("id").GetString();

        var got = await (await _host.Client.GetAsync("/v1/default/functions/hello-world")).ShouldSucceedAsync();
        Assert.Equal(id, got.GetProperty("id").GetString());
        Assert.Equal("A simple greeting function", got.GetProperty("description").GetString());
        Assert.False(got.TryGetProperty("code", out _));

        var config = await (await _host.Client.GetAsync("/v1/default/functions/hello-world/config")).ShouldSucceedAsync();
        Assert.Equal(HelloV1, config.GetProperty("code").GetString());

        var list = await (await _host.Client.GetAsync("/v1/default/functions")).ShouldSucceedAsync();
        Assert.Equal(["hello-world"], list.GetProperty("functions").EnumerateArray().Select(f => f.GetProperty("name").GetString()!));

        var updated = await (await _host.Client.PutAsJsonAsync("/v1/default/functions/hello-world", new { code = HelloV2, timeoutMs = 5000, methods = new[] { "get", "POST" } }))
            .ShouldSucceedAsync();
        Assert.Equal(2, updated.GetProperty("version").GetInt32());
        Assert.Equal(5000, updated.GetProperty("timeoutMs").GetInt32());
        Assert.Equal(["GET", "POST"], updated.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!));
        Assert.Equal("A simple greeting function", updated.GetProperty("description").GetString()); // untouched fields carry over
        Assert.Equal(["GREETING"], updated.GetProperty("envVars").EnumerateArray().Select(e => e.GetString()!));
        Assert.NotEqual(created.GetProperty("artifact").GetProperty("hash").GetString(), updated.GetProperty("artifact").GetProperty("hash").GetString());

        // A settings-only update keeps the code and artifact of the version before it.
        var settingsOnly = await (await _host.Client.PutAsJsonAsync("/v1/default/functions/hello-world", new { description = (string?)null }))
            .ShouldSucceedAsync();
        Assert.Equal(3, settingsOnly.GetProperty("version").GetInt32());
        Assert.Equal(JsonValueKind.Null, settingsOnly.GetProperty("description").ValueKind);
        Assert.Equal(updated.GetProperty("artifact").GetProperty("hash").GetString(), settingsOnly.GetProperty("artifact").GetProperty("hash").GetString());

        var versions = await (await _host.Client.GetAsync("/v1/default/functions/hello-world/versions")).ShouldSucceedAsync();
        Assert.Equal([3, 2, 1], versions.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal(3, versions.GetProperty("current").GetInt32());

        var rolledBack = await (await _host.Client.PostAsJsonAsync("/v1/default/functions/hello-world/rollback", new { version = 1 })).ShouldSucceedAsync();
        Assert.Equal(1, rolledBack.GetProperty("version").GetInt32());
        Assert.Equal(30000, rolledBack.GetProperty("timeoutMs").GetInt32());
        var configAfterRollback = await (await _host.Client.GetAsync("/v1/default/functions/hello-world/config")).ShouldSucceedAsync();
        Assert.Equal(HelloV1, configAfterRollback.GetProperty("code").GetString());

        // The next update after a rollback builds on the rolled-back version and takes the next number.
        var afterRollback = await (await _host.Client.PutAsJsonAsync("/v1/default/functions/hello-world", new { memoryLimitMb = 256 })).ShouldSucceedAsync();
        Assert.Equal(4, afterRollback.GetProperty("version").GetInt32());
        Assert.Equal(30000, afterRollback.GetProperty("timeoutMs").GetInt32());

        await (await _host.Client.PostAsJsonAsync("/v1/default/functions/hello-world/rollback", new { version = 9 })).ShouldFailAsync(404, "VERSION_NOT_FOUND");

        await (await _host.Client.DeleteAsync("/v1/default/functions/hello-world")).ShouldSucceedAsync();
        await (await _host.Client.GetAsync("/v1/default/functions/hello-world")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        await (await _host.Client.DeleteAsync("/v1/default/functions/hello-world")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        var empty = await (await _host.Client.GetAsync("/v1/default/functions")).ShouldSucceedAsync();
        Assert.Equal(0, empty.GetProperty("count").GetInt32());

        await using var db = await _host.OpenDatabaseAsync();
        await using var count = new Npgsql.NpgsqlCommand("select (select count(*) from isola.function_versions) + (select count(*) from isola.artifacts)", db);
        Assert.Equal(0L, await count.ExecuteScalarAsync()); // versions cascade, unused artifacts are collected
    }

    [Fact]
    public async Task Create_with_a_taken_name_is_409_and_leaves_the_first_untouched()
    {
        await (await _host.DeployAsync(new { name = "taken", code = HelloV1 })).ShouldSucceedAsync(201);
        var error = await (await _host.DeployAsync(new { name = "taken", code = HelloV2 })).ShouldFailAsync(409, "FUNCTION_EXISTS");
        Assert.Contains("taken", error.GetProperty("message").GetString());
        var config = await (await _host.Client.GetAsync("/v1/default/functions/taken/config")).ShouldSucceedAsync();
        Assert.Equal(HelloV1, config.GetProperty("code").GetString());
        Assert.Equal(1, config.GetProperty("version").GetInt32());
    }

    [Fact]
    public async Task Two_concurrent_deploys_of_one_name_give_exactly_one_201_and_one_409()
    {
        var first = _host.DeployAsync(new { name = "race", code = HelloV1 });
        var second = _host.DeployAsync(new { name = "race", code = HelloV2 });
        var statuses = (await Task.WhenAll(first, second)).Select(r => (int)r.StatusCode).Order().ToArray();
        Assert.Equal([201, 409], statuses);
        var versions = await (await _host.Client.GetAsync("/v1/default/functions/race/versions")).ShouldSucceedAsync();
        Assert.Single(versions.GetProperty("versions").EnumerateArray());
    }

    [Fact]
    public async Task Functions_live_in_their_app_and_an_unknown_app_is_404()
    {
        await (await _host.Client.PostAsJsonAsync("/v1/apps", new { id = "shop" })).ShouldSucceedAsync(201);
        await (await _host.DeployAsync(new { name = "cart", code = HelloV1 }, app: "shop")).ShouldSucceedAsync(201);
        await (await _host.DeployAsync(new { name = "cart", code = HelloV1 })).ShouldSucceedAsync(201); // same name, other app

        var shop = await (await _host.Client.GetAsync("/v1/shop/functions")).ShouldSucceedAsync();
        Assert.Equal("shop", shop.GetProperty("functions")[0].GetProperty("app").GetString());
        Assert.EndsWith("/v1/shop/fn/cart", shop.GetProperty("functions")[0].GetProperty("endpoint").GetString());

        await (await _host.Client.GetAsync("/v1/nowhere/functions")).ShouldFailAsync(404, "APP_NOT_FOUND");
        await (await _host.DeployAsync(new { name = "x", code = HelloV1 }, app: "nowhere")).ShouldFailAsync(404, "APP_NOT_FOUND");
    }

    [Fact]
    public async Task Apps_are_listed_created_once_and_validated()
    {
        var before = await (await _host.Client.GetAsync("/v1/apps")).ShouldSucceedAsync();
        Assert.Equal(["default"], before.GetProperty("apps").EnumerateArray().Select(a => a.GetProperty("id").GetString()!));

        await (await _host.Client.PostAsJsonAsync("/v1/apps", new { id = "blog" })).ShouldSucceedAsync(201);
        await (await _host.Client.PostAsJsonAsync("/v1/apps", new { id = "blog" })).ShouldFailAsync(409, "APP_EXISTS");
        var bad = await (await _host.Client.PostAsJsonAsync("/v1/apps", new { id = "Bad Name" })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("id", bad.GetProperty("field").GetString());
        await (await _host.Client.PostAsJsonAsync("/v1/apps", new { name = "blog2" })).ShouldFailAsync(400, "INVALID_REQUEST");

        var after = await (await _host.Client.GetAsync("/v1/apps")).ShouldSucceedAsync();
        Assert.Equal(["blog", "default"], after.GetProperty("apps").EnumerateArray().Select(a => a.GetProperty("id").GetString()!));
    }

    [Fact]
    public async Task Health_answers_ok_without_a_key()
    {
        var health = await (await _host.Anonymous.GetAsync("/health")).ShouldSucceedAsync();
        Assert.Equal("ok", health.GetProperty("status").GetString());
    }
}
