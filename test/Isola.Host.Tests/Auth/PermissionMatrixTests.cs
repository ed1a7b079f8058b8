using System.Net;
using System.Net.Http.Json;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Auth;

/// <summary>feature C8: every control endpoint × a key without its permission → 403 naming it; with it → allowed.</summary>
public sealed class PermissionMatrixTests(AuthFixture fixture) : IClassFixture<AuthFixture>, IAsyncLifetime
{
    private static readonly string[] AllButAdmin =
    [
        "functions.create", "functions.read", "functions.update", "functions.delete", "functions.execute",
        "functions.bindings.create:databases", "apps.manage", "secrets.write", "events.publish",
    ];

    public static TheoryData<string, string, string, string> Endpoints() => new()
    {
        // method, path, body, permission
        { "GET", "/v1/apps", "", "apps.manage|functions.read" },
        { "POST", "/v1/apps", """{"id": "perm-app-NEW"}""", "apps.manage" },
        { "GET", "/v1/default/functions", "", "functions.read" },
        { "POST", "/v1/default/functions", """{"name": "perm-NEW", "code": "export default () => new Response('x')"}""", "functions.create" },
        { "GET", "/v1/default/functions/perm-target", "", "functions.read" },
        { "GET", "/v1/default/functions/perm-target/config", "", "functions.read" },
        { "GET", "/v1/default/functions/perm-target/versions", "", "functions.read" },
        { "GET", "/v1/default/functions/perm-target/logs", "", "functions.read" },
        { "GET", "/v1/default/functions/perm-target/stats", "", "functions.read" },
        { "PUT", "/v1/default/functions/perm-target", """{"timeoutMs": 1000}""", "functions.update" },
        { "POST", "/v1/default/functions/perm-target/rollback", """{"version": 1}""", "functions.update" },
        { "DELETE", "/v1/default/functions/perm-victim-NEW", "", "functions.delete" },
        { "POST", "/functions/deploy", """{"name": "perm-molnos-NEW", "code": "export default () => new Response('x')"}""", "functions.create" },
        { "GET", "/functions/list", "", "functions.read" },
        { "GET", "/functions/stats", "", "functions.read" },
        { "GET", "/functions/perm-target", "", "functions.read" },
        { "GET", "/functions/perm-target/config", "", "functions.read" },
        { "PUT", "/functions/perm-target", """{"timeoutMs": 2000}""", "functions.update" },
        { "DELETE", "/functions/perm-victim-NEW", "", "functions.delete" },
        { "GET", "/v1/default/secrets", "", "functions.read" },
        { "PUT", "/v1/default/secrets", """{"PERM_SECRET": "x"}""", "secrets.write" },
        { "DELETE", "/v1/default/secrets", """["PERM_SECRET"]""", "secrets.write" },
        { "DELETE", "/v1/default/secrets/PERM_SECRET", "", "secrets.write" },
        { "POST", "/v1/default/events", """{"name": "perm.check"}""", "events.publish" },
        { "GET", "/v1/default/events/dead", "", "functions.read" },
        { "GET", "/v1/apps/default/events", "", "functions.read" },
        { "PUT", "/v1/apps/default/events", """{"chainLimit": 8}""", "apps.manage" },
        { "GET", "/v1/default/functions/perm-target/secrets", "", "functions.read" },
        { "PUT", "/v1/default/functions/perm-target/secrets", """{"PERM_ENV": "x"}""", "functions.update" },
        { "DELETE", "/v1/default/functions/perm-target/secrets", """["PERM_ENV"]""", "functions.update" },
        { "GET", "/v1/keys", "", "*" },
        { "POST", "/v1/keys", """{"name": "k", "permissions": ["functions.read"]}""", "*" },
        { "DELETE", "/v1/keys/00000000-0000-0000-0000-000000000000", "", "*" },
        { "GET", "/v1/apps/default/auth", "", "*" },
        { "PUT", "/v1/apps/default/auth", """{}""", "*" },
        { "POST", "/v1/default/auth/token", """{"sub": "u1"}""", "*" },
    };

    public async Task InitializeAsync()
    {
        await (await fixture.Host.DeployAsync(new { name = "perm-target", code = "export default () => new Response('x')" })).EnsureSuccessOrNoteExistsAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task A_key_without_the_permission_is_403_naming_it_and_with_it_is_let_through(string method, string path, string body, string permission)
    {
        var suffix = Guid.NewGuid().ToString("N")[..8];
        path = path.Replace("NEW", suffix, StringComparison.Ordinal);
        body = body.Replace("NEW", suffix, StringComparison.Ordinal);
        if (path.Contains("perm-victim", StringComparison.Ordinal))
        {
            var victim = path.Split('/').Last();
            await (await fixture.Host.DeployAsync(new { name = victim, code = "export default () => new Response('x')" })).ShouldSucceedAsync(201);
        }

        var required = permission.Split('|');
        var lacking = AllButAdmin.Where(p => !required.Contains(p)).ToArray();
        using (var without = fixture.ClientWith(await fixture.CreateKeyAsync(lacking)))
        {
            var error = await (await without.SendAsync(Request(method, path, body))).ShouldFailAsync(403, "FORBIDDEN");
            Assert.Contains($"'{required[^1]}'", error.GetProperty("message").GetString());
        }

        var granted = required[0] == "*" ? ["*"] : new[] { required[^1] };
        using var with = fixture.ClientWith(await fixture.CreateKeyAsync(granted));
        var response = await with.SendAsync(Request(method, path, body));
        Assert.True(response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden),
            $"{method} {path} with {string.Join(",", granted)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task An_app_scoped_key_works_only_on_its_app()
    {
        await (await fixture.Host.Client.PostAsJsonAsync("/v1/apps", new { id = "scoped" })).EnsureSuccessOrNoteExistsAsync();
        using var client = fixture.ClientWith(await fixture.CreateKeyAsync(["functions.read"], app: "scoped"));
        await (await client.GetAsync("/v1/scoped/functions")).ShouldSucceedAsync();
        var error = await (await client.GetAsync("/v1/default/functions")).ShouldFailAsync(403, "FORBIDDEN");
        Assert.Contains("functions.read", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task An_expired_or_deleted_key_is_401()
    {
        var shortLived = await fixture.CreateKeyAsync(["functions.read"], expiresIn: 1);
        using var client = fixture.ClientWith(shortLived);
        await (await client.GetAsync("/v1/default/functions")).ShouldSucceedAsync();
        await Task.Delay(1200);
        await (await client.GetAsync("/v1/default/functions")).ShouldFailAsync(401, "AUTH_REQUIRED");

        var created = await (await fixture.Host.Client.PostAsJsonAsync("/v1/keys", new { name = "doomed", permissions = new[] { "functions.read" } })).ShouldSucceedAsync(201);
        using var doomed = fixture.ClientWith(created.GetProperty("key").GetString());
        await (await doomed.GetAsync("/v1/default/functions")).ShouldSucceedAsync();
        await (await fixture.Host.Client.DeleteAsync($"/v1/keys/{created.GetProperty("id").GetString()}")).ShouldSucceedAsync();
        await (await doomed.GetAsync("/v1/default/functions")).ShouldFailAsync(401, "AUTH_REQUIRED");
    }

    [Fact]
    public async Task Binding_a_service_needs_its_bindings_permission()
    {
        var bindings = new[] { new { service = "databases", permissions = new[] { new { resource = "table", actions = new[] { "read" }, targets = new[] { "users" } } } } };
        await (await fixture.Host.Client.PostAsJsonAsync("/v1/default/db/migrations", new { name = "001_bound_users", sql = "create table if not exists users (id int primary key)" }))
            .EnsureSuccessOrExplainAsync();
        using var creator = fixture.ClientWith(await fixture.CreateKeyAsync(["functions.create"]));
        var error = await (await creator.PostAsJsonAsync("/v1/default/functions", new { name = "bound-no", code = "export default () => new Response('x')", bindings }))
            .ShouldFailAsync(403, "FORBIDDEN");
        Assert.Contains("functions.bindings.create:databases", error.GetProperty("message").GetString());
        await (await fixture.Host.Client.GetAsync("/v1/default/functions/bound-no")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");

        using var binder = fixture.ClientWith(await fixture.CreateKeyAsync(["functions.create", "functions.update", "functions.bindings.create:databases"]));
        await (await binder.PostAsJsonAsync("/v1/default/functions", new { name = "bound-yes", code = "export default () => new Response('x')", bindings })).ShouldSucceedAsync(201);

        // An update that does not touch bindings needs no binding permission.
        using var updater = fixture.ClientWith(await fixture.CreateKeyAsync(["functions.update"]));
        await (await updater.PutAsJsonAsync("/v1/default/functions/bound-yes", new { timeoutMs = 1234 })).ShouldSucceedAsync();
        await (await updater.PutAsJsonAsync("/v1/default/functions/bound-yes", new { bindings })).ShouldFailAsync(403, "FORBIDDEN");
    }

    [Fact]
    public async Task Keys_are_shown_once_and_never_listed()
    {
        var created = await (await fixture.Host.Client.PostAsJsonAsync("/v1/keys", new { name = "shown-once", permissions = new[] { "functions.read" } })).ShouldSucceedAsync(201);
        var secret = created.GetProperty("key").GetString()!;
        Assert.StartsWith("isola_sk_", secret);
        var list = await (await fixture.Host.Client.GetAsync("/v1/keys")).Content.ReadAsStringAsync();
        Assert.DoesNotContain(secret, list);
        Assert.Contains(created.GetProperty("prefix").GetString()!, list);

        await (await fixture.Host.Client.PostAsJsonAsync("/v1/keys", new { name = "bad", permissions = new[] { "functions.fly" } })).ShouldFailAsync(400, "INVALID_REQUEST");
        await (await fixture.Host.Client.PostAsJsonAsync("/v1/keys", new { name = "bad", permissions = Array.Empty<string>() })).ShouldFailAsync(400, "INVALID_REQUEST");
    }

    private static HttpRequestMessage Request(string method, string path, string body) =>
        new(new HttpMethod(method), path) { Content = body.Length == 0 ? null : new StringContent(body, Encoding.UTF8, "application/json") };
}
