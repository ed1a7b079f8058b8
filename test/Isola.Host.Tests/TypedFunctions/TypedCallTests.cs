using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.TypedFunctions;

/// <summary>
/// Calling typed functions (R1, R3's errors, A2's auth modes): seed 004's examples deployed unchanged, POST
/// /api/fn with JSON args, ctx.error, and clean 404s between typed and plain functions.
/// </summary>
[Collection(TypedCollection.Name)]
public sealed class TypedCallTests(TypedFixture fixture)
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task Seed_createMessage_deployed_unchanged_inserts_as_the_signed_in_user()
    {
        using var a = await fixture.UserAsync(fixture.UserA);
        var created = await (await TypedFixture.CallAsync(a, "createMessage", new { roomId = fixture.RoomId, body = "hello" })).ShouldSucceedAsync();
        var id = created.GetProperty("id").GetString()!;

        var row = (await fixture.RunAsync("select room_id::text, author_id::text, body from messages where id = $1::uuid", id)).Rows.Single();
        Assert.Equal(fixture.RoomId, row["room_id"]!.GetValue<string>());
        Assert.Equal(fixture.UserA, row["author_id"]!.GetValue<string>());
        Assert.Equal("hello", row["body"]!.GetValue<string>());

        // The same function at the default app's Pylon path.
        var again = await a.PostAsJsonAsync("/api/fn/createMessage", new { roomId = fixture.RoomId, body = "again" });
        Assert.Equal(36, (await again.ShouldSucceedAsync()).GetProperty("id").GetString()!.Length);
    }

    [Fact]
    public async Task Seed_listIssues_deployed_unchanged_returns_the_teams_issues_as_entities()
    {
        using var a = await fixture.UserAsync(fixture.UserA);
        var issues = await (await TypedFixture.CallAsync(a, "listIssues", new { teamId = fixture.TeamId })).ShouldSucceedAsync();

        Assert.Equal(["first", "second"], issues.EnumerateArray().Select(i => i.GetProperty("title").GetString()));
        Assert.All(issues.EnumerateArray(), issue => Assert.Equal(fixture.TeamId, issue.GetProperty("teamId").GetString())); // team_id → teamId
    }

    [Fact]
    public async Task Every_entity_call_maps_to_the_table_and_its_columns()
    {
        var title = "tour " + Guid.NewGuid().ToString("N")[..8];
        var tour = await (await TypedFixture.CallAsync(Host.Anonymous, "entityTour", new { teamId = fixture.TeamId, title, assigneeId = fixture.UserA })).ShouldSucceedAsync();

        var id = tour.GetProperty("id").GetString(); // a bigint id comes back as a string
        Assert.Equal(id, tour.GetProperty("found").GetString());
        Assert.Equal(fixture.UserA, tour.GetProperty("linked").GetString()); // link("assignee") set assignee_id
        Assert.Equal(title + " (edited)", tour.GetProperty("updated").GetString());
        Assert.Equal(1, tour.GetProperty("unassigned").GetInt32()); // unlink cleared it; a null filter value matches NULL
        Assert.True(tour.GetProperty("deleted").GetBoolean());
        Assert.False(tour.GetProperty("deletedAgain").GetBoolean());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, tour.GetProperty("gone").ValueKind);
        Assert.Equal("NOT_FOUND", tour.GetProperty("missingUpdate").GetString());
        Assert.Contains("has no field 'nope'", tour.GetProperty("unknownField").GetString());
        Assert.Empty((await fixture.RunAsync("select id from issues where title like $1", title + "%")).Rows);
    }

    [Fact]
    public async Task Auth_modes_answer_401_and_403_before_the_handler_runs()
    {
        foreach (var mode in new[] { "public", "guest", "user", "admin" })
        {
            await fixture.DeployAsync("whoami-" + mode, TestEnvironment.Fixture("typed/whoami.ts").Replace("auth: \"user\"", $"auth: \"{mode}\"", StringComparison.Ordinal));
        }

        using var user = await fixture.UserAsync(fixture.UserA);
        using var admin = await fixture.UserAsync(fixture.UserB, "admin");
        var callers = new (string Name, HttpClient Client)[] { ("nobody", Host.Anonymous), ("anon key", Host.Caller), ("user", user), ("admin", admin), ("API key", Host.Client) };
        var expected = new Dictionary<string, int[]>
        {
            // nobody, anon key, user, admin, API key
            ["public"] = [200, 200, 200, 200, 200],
            ["guest"] = [401, 200, 200, 200, 200],
            ["user"] = [401, 401, 200, 200, 200],
            ["admin"] = [401, 401, 403, 200, 200],
        };
        foreach (var (mode, statuses) in expected)
        {
            for (var i = 0; i < callers.Length; i++)
            {
                var response = await TypedFixture.CallAsync(callers[i].Client, "whoami-" + mode);
                Assert.True((int)response.StatusCode == statuses[i], $"auth \"{mode}\", {callers[i].Name}: expected {statuses[i]}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                if (statuses[i] != 200)
                {
                    await response.ShouldFailAsync(statuses[i], statuses[i] == 401 ? "AUTH_REQUIRED" : "FORBIDDEN");
                }
            }
        }

        // Under "user", ctx.auth.userId is the signed-in user's id.
        var seen = await (await TypedFixture.CallAsync(user, "whoami-user")).ShouldSucceedAsync();
        Assert.Equal(fixture.UserA, seen.GetProperty("userId").GetString());
        Assert.Equal("user", seen.GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Ctx_error_reaches_the_caller_as_400_with_its_code_and_no_relay_error()
    {
        var response = await TypedFixture.CallAsync(Host.Anonymous, "rejectTitle", new { title = "far too long a title" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.False(response.Headers.Contains("x-relay-error"), "a function's own error is not the platform's");
        var error = (await response.JsonAsync()).GetProperty("error");
        Assert.Equal("TITLE_TOO_LONG", error.GetProperty("code").GetString());
        Assert.Equal("a title has at most 10 characters, this one 20", error.GetProperty("message").GetString());
        Assert.True((await (await TypedFixture.CallAsync(Host.Anonymous, "rejectTitle", new { title = "short" })).ShouldSucceedAsync()).GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task Typed_and_plain_functions_are_each_a_clear_404_on_the_others_routes()
    {
        await (await Host.DeployAsync(new { name = "plain-hello", code = "export default () => Response.json({ hi: true });", verifyJwt = false })).ShouldSucceedAsync(201);

        var plainAtApi = await (await TypedFixture.CallAsync(Host.Client, "plain-hello")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        Assert.Contains("not a typed function", plainAtApi.GetProperty("message").GetString());
        Assert.Contains("/v1/default/fn/plain-hello", plainAtApi.GetProperty("message").GetString());

        foreach (var path in new[] { "/v1/default/fn/rejectTitle", "/functions/v1/rejectTitle" })
        {
            var typedAtFn = await (await Host.Client.PostAsJsonAsync(path, new { title = "x" })).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
            Assert.Contains("typed function (mutation)", typedAtFn.GetProperty("message").GetString());
            Assert.Contains("/v1/default/api/fn/rejectTitle", typedAtFn.GetProperty("message").GetString());
        }

        // An internal function is not there for clients at all; an unknown name neither.
        await (await TypedFixture.CallAsync(Host.Client, "assign", new { issueId = "1" })).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        await (await TypedFixture.CallAsync(Host.Client, "no-such-function")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        // Typed functions are called with POST only.
        await (await Host.Client.GetAsync("/v1/default/api/fn/rejectTitle")).ShouldFailAsync(405, "METHOD_NOT_ALLOWED");
    }

    [Fact]
    public async Task A_body_that_is_not_an_object_of_arguments_is_INVALID_ARGS()
    {
        foreach (var body in new[] { "[1, 2]", "\"text\"", "{not json" })
        {
            using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
            var error = await (await Host.Anonymous.PostAsync("/v1/default/api/fn/rejectTitle", content)).ShouldFailAsync(400, "INVALID_ARGS");
            Assert.StartsWith("args: ", error.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task An_action_runs_a_query_and_an_internal_mutation_as_its_caller()
    {
        using var a = await fixture.UserAsync(fixture.UserA);
        var result = await (await TypedFixture.CallAsync(a, "triage", new { teamId = fixture.TeamId, assigneeId = fixture.UserB })).ShouldSucceedAsync();

        var assigned = result.GetProperty("assigned").EnumerateArray().ToList();
        Assert.Equal(2, assigned.Count);
        Assert.All(assigned, issue => Assert.Equal(fixture.UserB, issue.GetProperty("assigneeId").GetString()));
        // The called mutation's own ctx.error reaches the action with its code.
        Assert.Equal("TITLE_TOO_LONG", result.GetProperty("refused").GetProperty("code").GetString());

        var stored = await fixture.RunAsync("select count(*)::int as n from issues where team_id = $1::uuid and assignee_id = $2::uuid", fixture.TeamId, fixture.UserB);
        Assert.Equal(2L, stored.Rows[0]["n"]!.GetValue<long>());
    }

    [Fact]
    public async Task A_result_its_returns_validator_refuses_is_FUNCTION_ERROR_and_the_mutation_rolls_back()
    {
        var kept = "kept-" + Guid.NewGuid().ToString("N")[..8];
        var answer = await (await TypedFixture.CallAsync(Host.Anonymous, "countTo", new { name = kept, value = 3, keepPromise = true })).ShouldSucceedAsync();
        Assert.Equal(3, answer.GetProperty("value").GetInt32());

        var broken = "broken-" + Guid.NewGuid().ToString("N")[..8];
        var failed = await TypedFixture.CallAsync(Host.Anonymous, "countTo", new { name = broken, value = 4, keepPromise = false });
        await failed.ShouldFailAsync(500, "FUNCTION_ERROR");
        await InvocationLogs.WaitForAsync(Host, "countTo", failed.Headers.GetValues("x-isola-invocation-id").Single(), record => record.GetRawText()
            .Contains("countTo returned a value its returns validator refuses: result.value: expected an integer, got string", StringComparison.Ordinal));

        var rows = await fixture.RunAsync("select name from counters where name = any($1)", (object)new[] { kept, broken });
        Assert.Equal([kept], rows.Rows.Select(row => row["name"]!.GetValue<string>()));

        // The management API shows the schema the generated clients' types come from (isola types generate).
        var typed = (await (await Host.Client.GetAsync("/v1/default/functions/countTo")).ShouldSucceedAsync()).GetProperty("typed");
        Assert.Equal("""{"type":"object","fields":{"name":{"type":"string"},"value":{"type":"int"}}}""", typed.GetProperty("returns").GetRawText());
        var none = (await (await Host.Client.GetAsync("/v1/default/functions/rejectTitle")).ShouldSucceedAsync()).GetProperty("typed");
        Assert.Equal(JsonValueKind.Null, none.GetProperty("returns").ValueKind);
    }
}
