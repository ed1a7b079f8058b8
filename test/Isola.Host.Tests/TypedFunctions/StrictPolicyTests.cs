using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.TypedFunctions;

/// <summary>
/// Strict policies (R4): a typed function's ctx.db acts as its caller under row-level security, ctx.db.unsafe as
/// service_role, and an app may turn strict mode off.
/// </summary>
[Collection(TypedCollection.Name)]
public sealed class StrictPolicyTests(TypedFixture fixture)
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task A_forged_write_is_POLICY_DENIED_and_the_same_write_through_unsafe_succeeds()
    {
        using var a = await fixture.UserAsync(fixture.UserA);
        var forged = new { roomId = fixture.RoomId, authorId = fixture.UserB, body = "I am B", @unsafe = false };

        var denied = await (await TypedFixture.CallAsync(a, "postAs", forged)).ShouldFailAsync(403, "POLICY_DENIED");
        Assert.Contains("row-level security", denied.GetProperty("message").GetString());
        Assert.Empty((await fixture.RunAsync("select id from messages where body = 'I am B'")).Rows);

        var written = await (await TypedFixture.CallAsync(a, "postAs", forged with { @unsafe = true })).ShouldSucceedAsync();
        var row = (await fixture.RunAsync("select author_id::text from messages where id = $1::uuid", written.GetProperty("id").GetString())).Rows.Single();
        Assert.Equal(fixture.UserB, row["author_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Reading_a_row_the_caller_may_not_see_is_POLICY_DENIED_and_a_missing_one_is_null()
    {
        var ofB = (await fixture.RunAsync("insert into notes (owner, body) values ($1::uuid, 'B only') returning id::text as id", fixture.UserB)).Rows[0]["id"]!.GetValue<string>();
        using var a = await fixture.UserAsync(fixture.UserA);
        using var b = await fixture.UserAsync(fixture.UserB);

        await (await TypedFixture.CallAsync(a, "readNote", new { id = ofB })).ShouldFailAsync(403, "POLICY_DENIED");
        Assert.Equal("B only", (await (await TypedFixture.CallAsync(b, "readNote", new { id = ofB })).ShouldSucceedAsync()).GetProperty("body").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, (await (await TypedFixture.CallAsync(a, "readNote", new { id = "999999999" })).ShouldSucceedAsync()).ValueKind);
    }

    [Fact]
    public async Task With_strict_policies_off_ctx_db_acts_as_service_role()
    {
        using var a = await fixture.UserAsync(fixture.UserA);
        var forged = new { roomId = fixture.RoomId, authorId = fixture.UserB, body = "lenient", @unsafe = false };
        await (await Host.Client.PutAsJsonAsync("/v1/apps/default/policies", new { strict = false })).ShouldSucceedAsync();
        try
        {
            Assert.False((await (await Host.Client.GetAsync("/v1/apps/default/policies")).ShouldSucceedAsync()).GetProperty("strict").GetBoolean());
            await (await TypedFixture.CallAsync(a, "postAs", forged)).ShouldSucceedAsync();
        }
        finally
        {
            await (await Host.Client.PutAsJsonAsync("/v1/apps/default/policies", new { strict = true })).ShouldSucceedAsync();
        }

        await (await TypedFixture.CallAsync(a, "postAs", forged)).ShouldFailAsync(403, "POLICY_DENIED");
    }
}
