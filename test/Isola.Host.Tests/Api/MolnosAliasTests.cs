using System.Net.Http.Json;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Api;

/// <summary>feature C3: the MolnOS paths drive the same engine and rows as /v1/default/functions.</summary>
public sealed class MolnosAliasTests
{
    [Fact]
    public async Task Deploy_list_get_config_update_stats_delete_through_the_MolnOS_paths()
    {
        await using var host = await TestHost.StartAsync();
        // The MolnOS example binds a table: it must exist in the app's database.
        await (await host.Client.PostAsJsonAsync("/v1/default/db/migrations", new { name = "001_users", sql = "create table \"users-table\" (id int primary key)" }))
            .ShouldSucceedAsync(201);
        // The MolnOS docs' full deploy example, verbatim.
        const string deploy = """
            {
            "name": "my-function",
            "code": "async function handler(request, context) { return { statusCode: 200, body: { message: 'Hello World' } }; }",
            "methods": ["GET", "POST"],
            "triggers": [
            { "type": "http" },
            { "type": "event", "eventName": "order-created" }
            ],
            "allowUnauthenticated": false,
            "passAllHeaders": false,
            "bindings": [
            {
            "service": "databases",
            "permissions": [
            {
            "resource": "table",
            "actions": ["read", "write"],
            "targets": ["users-table"]
            }
            ]
            }
            ]
            }
            """;
        var created = await (await host.Client.PostAsync("/functions/deploy", new StringContent(deploy, Encoding.UTF8, "application/json"))).ShouldSucceedAsync(201);
        var id = created.GetProperty("id").GetString()!;
        Assert.Equal("""[{"service":"databases","permissions":[{"resource":"table","actions":["read","write"],"targets":["users-table"]}]}]""",
            created.GetProperty("bindings").GetRawText());

        var list = await (await host.Client.GetAsync("/functions/list")).ShouldSucceedAsync();
        Assert.Equal(id, list.GetProperty("functions")[0].GetProperty("id").GetString());

        var byId = await (await host.Client.GetAsync($"/functions/{id}")).ShouldSucceedAsync();
        Assert.Equal("my-function", byId.GetProperty("name").GetString());
        Assert.EndsWith("/v1/default/fn/my-function", byId.GetProperty("endpoint").GetString());
        Assert.Equal(["GET", "POST"], byId.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!));

        var config = await (await host.Client.GetAsync($"/functions/{id}/config")).ShouldSucceedAsync();
        Assert.Contains("Hello World", config.GetProperty("code").GetString());

        // The MolnOS update example.
        const string update = """
            {
            "code": "async function handler(request, context) { return { statusCode: 200, body: { message: 'Updated' } }; }",
            "methods": ["GET"],
            "allowUnauthenticated": true,
            "passAllHeaders": true
            }
            """;
        var updated = await (await host.Client.PutAsync($"/functions/{id}", new StringContent(update, Encoding.UTF8, "application/json"))).ShouldSucceedAsync();
        Assert.Equal(2, updated.GetProperty("version").GetInt32());
        Assert.True(updated.GetProperty("allowUnauthenticated").GetBoolean());

        // Same rows through the canonical API.
        var canonical = await (await host.Client.GetAsync("/v1/default/functions/my-function/config")).ShouldSucceedAsync();
        Assert.Contains("Updated", canonical.GetProperty("code").GetString());

        await (await host.Client.PostAsJsonAsync("/functions/deploy", new { name = "order-processor", code = "async function handler(event, context) { return { statusCode: 200, body: { processed: true } }; }", triggers = new[] { new { type = "event", eventName = "order.created" } } }))
            .ShouldSucceedAsync(201);
        var stats = await (await host.Client.GetAsync("/functions/stats")).ShouldSucceedAsync();
        Assert.Equal(2, stats.GetProperty("functions").GetInt32());
        Assert.Equal(3, stats.GetProperty("versions").GetInt32());
        Assert.Equal(1, stats.GetProperty("byTrigger").GetProperty("http").GetInt32());
        Assert.Equal(2, stats.GetProperty("byTrigger").GetProperty("event").GetInt32());

        await (await host.Client.DeleteAsync($"/functions/{id}")).ShouldSucceedAsync();
        await (await host.Client.GetAsync($"/functions/{id}")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        await (await host.Client.GetAsync("/v1/default/functions/my-function")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
    }
}
