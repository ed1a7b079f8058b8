using System.Net.Http.Json;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Api;

/// <summary>Every field of C1 with one bad value each: 400 INVALID_REQUEST naming that field, nothing stored.</summary>
public sealed class DeployValidationTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private const string Code = "export default () => new Response('ok');";
    private TestHost Host => fixture.Host;

    public static TheoryData<string, string> BadFields() => new()
    {
        // field value (raw JSON)                                   field named in the error
        { """ "code": "x" """, "name" },
        { """ "name": "", "code": "x" """, "name" },
        { $$""" "name": "{{new string('a', 101)}}", "code": "x" """, "name" },
        { """ "name": "has space", "code": "x" """, "name" },
        { """ "name": "../etc", "code": "x" """, "name" },
        { """ "name": 12, "code": "x" """, "name" },
        { """ "name": "f" """, "code" },
        { """ "name": "f", "code": 5 """, "code" },
        { """ "name": "f", "code": "   " """, "code" },
        { """ "name": "f", "code": "x", "description": 5 """, "description" },
        { $$""" "name": "f", "code": "x", "description": "{{new string('d', 1001)}}" """, "description" },
        { """ "name": "f", "code": "x", "envVars": [] """, "envVars" },
        { """ "name": "f", "code": "x", "envVars": { "1BAD": "v" } """, "envVars.1BAD" },
        { """ "name": "f", "code": "x", "envVars": { "A": 1 } """, "envVars.A" },
        { """ "name": "f", "code": "x", "envVars": { "ISOLA_X": "v" } """, "envVars.ISOLA_X" },
        { """ "name": "f", "code": "x", "timeoutMs": "30000" """, "timeoutMs" },
        { """ "name": "f", "code": "x", "timeoutMs": 1.5 """, "timeoutMs" },
        { """ "name": "f", "code": "x", "timeoutMs": 0 """, "timeoutMs" },
        { """ "name": "f", "code": "x", "timeoutMs": 300001 """, "timeoutMs" },
        { """ "name": "f", "code": "x", "memoryLimitMb": 63 """, "memoryLimitMb" },
        { """ "name": "f", "code": "x", "memoryLimitMb": 1025 """, "memoryLimitMb" },
        { """ "name": "f", "code": "x", "memoryLimitMb": true """, "memoryLimitMb" },
        { """ "name": "f", "code": "x", "trigger": "http" """, "trigger" },
        { """ "name": "f", "code": "x", "trigger": { "type": "ftp" } """, "trigger.type" },
        { """ "name": "f", "code": "x", "trigger": { "config": {} } """, "trigger.type" },
        { """ "name": "f", "code": "x", "trigger": { "type": "cron", "config": {} } """, "trigger.config.schedule" },
        { """ "name": "f", "code": "x", "trigger": { "type": "cron", "config": { "schedule": "61 * * * *" } } """, "trigger.config.schedule" },
        { """ "name": "f", "code": "x", "trigger": { "type": "cron", "config": { "schedule": "0 9 * * *", "timezone": "Mars/Olympus" } } """, "trigger.config.timezone" },
        { """ "name": "f", "code": "x", "trigger": { "type": "http", "config": { "path": "/x" } } """, "trigger.config.path" },
        { """ "name": "f", "code": "x", "triggers": [] """, "triggers" },
        { """ "name": "f", "code": "x", "triggers": { "type": "http" } """, "triggers" },
        { """ "name": "f", "code": "x", "triggers": [{ "type": "event" }] """, "triggers[0].eventName" },
        { """ "name": "f", "code": "x", "triggers": [{ "type": "http" }, { "type": "websocket", "config": {} }] """, "triggers[1].config.event" },
        { """ "name": "f", "code": "x", "triggers": [{ "type": "http", "extra": 1 }] """, "triggers[0].extra" },
        { """ "name": "f", "code": "x", "triggers": [{ "type": "http", "eventName": "a" }] """, "triggers[0].eventName" },
        { """ "name": "f", "code": "x", "methods": "GET" """, "methods" },
        { """ "name": "f", "code": "x", "methods": [] """, "methods" },
        { """ "name": "f", "code": "x", "methods": ["GET", "FETCH"] """, "methods[1]" },
        { """ "name": "f", "code": "x", "allowUnauthenticated": "yes" """, "allowUnauthenticated" },
        { """ "name": "f", "code": "x", "passAllHeaders": 1 """, "passAllHeaders" },
        { """ "name": "f", "code": "x", "verifyJwt": null """, "verifyJwt" },
        { """ "name": "f", "code": "x", "auth": "root" """, "auth" },
        { """ "name": "f", "code": "x", "bindings": {} """, "bindings" },
        { """ "name": "f", "code": "x", "bindings": [{ "service": "mail" }] """, "bindings[0].service" },
        { """ "name": "f", "code": "x", "bindings": [{ "permissions": [] }] """, "bindings[0].service" },
        { """ "name": "f", "code": "x", "bindings": [{ "service": "databases", "permissions": [{ "resource": "table", "actions": ["fly"] }] }] """, "bindings[0].permissions[0].actions[0]" },
        { """ "name": "f", "code": "x", "bindings": [{ "service": "databases", "permissions": [{ "actions": ["read"] }] }] """, "bindings[0].permissions[0].resource" },
        { """ "name": "f", "code": "x", "context": 7 """, "context" },
        { """ "name": "f", "code": "x", "timeout": 10 """, "timeout" },
        { """ "name": "f", "code": "x", "name": "g" """, "name" },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public async Task Create_with_one_bad_field_is_400_naming_it(string fields, string expectedField)
    {
        var response = await Host.Client.PostAsync("/v1/default/functions", new StringContent("{" + fields + "}", Encoding.UTF8, "application/json"));
        var error = await response.ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal(expectedField, error.GetProperty("field").GetString());
        Assert.StartsWith(expectedField, error.GetProperty("message").GetString());
        var list = await (await Host.Client.GetAsync("/v1/default/functions")).ShouldSucceedAsync();
        Assert.DoesNotContain(list.GetProperty("functions").EnumerateArray(), f => f.GetProperty("name").GetString() is "f" or "g");
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("{not json", "not valid JSON")]
    [InlineData("[1, 2]", "JSON object")]
    public async Task Create_with_a_body_that_is_not_an_object_is_400(string body, string expectedMessage)
    {
        var response = await Host.Client.PostAsync("/v1/default/functions", new StringContent(body, Encoding.UTF8, "application/json"));
        var error = await response.ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Contains(expectedMessage, error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Limits_are_accepted_at_their_bounds_and_refused_just_past_them()
    {
        var longName = new string('n', 100);
        await (await Host.DeployAsync(new { name = longName, code = Code, timeoutMs = 1, memoryLimitMb = 64 })).ShouldSucceedAsync(201);
        var upper = await (await Host.Client.PutAsJsonAsync($"/v1/default/functions/{longName}", new { timeoutMs = 300000, memoryLimitMb = 1024 })).ShouldSucceedAsync();
        Assert.Equal(300000, upper.GetProperty("timeoutMs").GetInt32());
        Assert.Equal(1024, upper.GetProperty("memoryLimitMb").GetInt32());

        foreach (var (field, value) in new[] { ("timeoutMs", 300001), ("timeoutMs", 0), ("memoryLimitMb", 1025), ("memoryLimitMb", 63) })
        {
            var body = new StringContent($$"""{"{{field}}": {{value}}}""", Encoding.UTF8, "application/json");
            var error = await (await Host.Client.PutAsync($"/v1/default/functions/{longName}", body)).ShouldFailAsync(400, "INVALID_REQUEST");
            Assert.Equal(field, error.GetProperty("field").GetString());
        }

        var unchanged = await (await Host.Client.GetAsync($"/v1/default/functions/{longName}")).ShouldSucceedAsync();
        Assert.Equal(2, unchanged.GetProperty("version").GetInt32());
        await (await Host.Client.DeleteAsync($"/v1/default/functions/{longName}")).ShouldSucceedAsync();
    }

    [Fact]
    public async Task Code_over_the_size_limit_is_413_and_code_at_the_limit_deploys()
    {
        var limit = Host.Options.MaxCodeBytes;
        var atLimit = Code + "\n//" + new string('x', limit - Code.Length - 3);
        Assert.Equal(limit, Encoding.UTF8.GetByteCount(atLimit));
        await (await Host.DeployAsync(new { name = "at-limit", code = atLimit })).ShouldSucceedAsync(201);

        var error = await (await Host.DeployAsync(new { name = "over-limit", code = atLimit + "x" })).ShouldFailAsync(413, "PAYLOAD_TOO_LARGE");
        Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), error.GetProperty("message").GetString());
        await (await Host.Client.GetAsync("/v1/default/functions/over-limit")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");

        var hugeBody = new StringContent("{\"name\":\"huge\",\"code\":\"" + new string('y', (limit * 3) + (512 * 1024)) + "\"}", Encoding.UTF8, "application/json");
        await (await Host.Client.PostAsync("/v1/default/functions", hugeBody)).ShouldFailAsync(413, "PAYLOAD_TOO_LARGE");
        await (await Host.Client.DeleteAsync("/v1/default/functions/at-limit")).ShouldSucceedAsync();
    }

    [Fact]
    public async Task Trigger_and_triggers_are_stored_as_one_list_defaulting_to_http()
    {
        var plain = await (await Host.DeployAsync(new { name = "t-default", code = Code })).ShouldSucceedAsync(201);
        Assert.Equal("""[{"type":"http","config":{}}]""", plain.GetProperty("triggers").GetRawText());

        var body = """
            {"name": "t-both", "code": "export default () => new Response('ok');",
             "trigger": {"type": "cron", "config": {"schedule": "*/5 * * * *"}},
             "triggers": [{"type": "http"}, {"type": "event", "eventName": "order.created"}, {"type": "websocket", "config": {"event": "chat"}}]}
            """;
        var both = await (await Host.Client.PostAsync("/v1/default/functions", new StringContent(body, Encoding.UTF8, "application/json"))).ShouldSucceedAsync(201);
        Assert.Equal(
            """[{"type":"cron","config":{"schedule":"*/5 * * * *"}},{"type":"http","config":{}},{"type":"event","config":{"eventName":"order.created"}},{"type":"websocket","config":{"event":"chat"}}]""",
            both.GetProperty("triggers").GetRawText());

        var eventOnly = await (await Host.DeployAsync(new { name = "t-event", code = Code, triggers = new[] { new { type = "event", eventName = "order.created" } } })).ShouldSucceedAsync(201);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, eventOnly.GetProperty("endpoint").ValueKind); // not reachable over HTTP

        foreach (var name in new[] { "t-default", "t-both", "t-event" })
        {
            await (await Host.Client.DeleteAsync($"/v1/default/functions/{name}")).ShouldSucceedAsync();
        }
    }

    [Fact]
    public async Task Update_with_no_fields_or_a_new_name_is_400()
    {
        await (await Host.DeployAsync(new { name = "u-fixed", code = Code })).ShouldSucceedAsync(201);
        await (await Host.Client.PutAsync("/v1/default/functions/u-fixed", new StringContent("{}", Encoding.UTF8, "application/json"))).ShouldFailAsync(400, "INVALID_REQUEST");
        var rename = await (await Host.Client.PutAsJsonAsync("/v1/default/functions/u-fixed", new { name = "other" })).ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("name", rename.GetProperty("field").GetString());
        await (await Host.Client.PutAsJsonAsync("/v1/default/functions/missing", new { timeoutMs = 5 })).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        await (await Host.Client.DeleteAsync("/v1/default/functions/u-fixed")).ShouldSucceedAsync();
    }
}
