using Isola.Host.Data.AppDatabases;
using static Isola.Host.Tests.Data.DataFixture;

namespace Isola.Host.Tests.Data;

/// <summary>
/// A Supabase-style policy (<c>owner = auth.uid()</c>) across users A and B, anon and the service
/// role, driven through the SQL executor that functions' ctx.db will use.
/// </summary>
public sealed class RlsMatrixTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private static readonly DbCaller A = DbCaller.User(UserA);
    private static readonly DbCaller B = DbCaller.User(UserB);

    public static TheoryData<string, string[]> Readers => new()
    {
        { "A", ["a1", "a2"] },
        { "B", ["b1"] },
        { "anon", [] },
        { "service", ["a1", "a2", "b1"] },
    };

    [Theory]
    [MemberData(nameof(Readers))]
    public async Task Each_caller_reads_only_the_rows_the_policy_gives_it(string who, string[] expected)
    {
        var result = await fixture.RunAsync(Caller(who), "select body from notes where body in ('a1', 'a2', 'b1') order by body");
        Assert.Equal(expected, result.Rows.Select(row => (string)row["body"]!));
        Assert.Equal(expected.Length, result.RowCount);
    }

    [Theory]
    [InlineData("A", UserA)]
    [InlineData("B", UserB)]
    public async Task Auth_functions_return_the_callers_claims(string who, string userId)
    {
        var caller = DbCaller.User(userId, new System.Text.Json.Nodes.JsonObject { ["email"] = who + "@example.com" });
        var row = (await fixture.RunAsync(caller, "select auth.uid() as uid, auth.role() as role, auth.email() as email, auth.jwt() ->> 'sub' as sub, current_user as db_role")).Rows.Single();
        Assert.Equal(userId, (string)row["uid"]!);
        Assert.Equal("authenticated", (string)row["role"]!);
        Assert.Equal(who + "@example.com", (string)row["email"]!);
        Assert.Equal(userId, (string)row["sub"]!);
        Assert.Equal("authenticated", (string)row["db_role"]!);
    }

    [Fact]
    public async Task Anon_and_service_run_as_their_roles()
    {
        var anon = (await fixture.RunAsync(DbCaller.Anon, "select current_user as r, auth.uid() as uid, auth.role() as claim")).Rows.Single();
        Assert.Equal("anon", (string)anon["r"]!);
        Assert.Null(anon["uid"]);
        Assert.Equal("anon", (string)anon["claim"]!);
        var service = (await fixture.RunAsync(DbCaller.Service, "select current_user as r, auth.role() as claim")).Rows.Single();
        Assert.Equal("service_role", (string)service["r"]!);
        Assert.Equal("service_role", (string)service["claim"]!);
    }

    [Fact]
    public async Task A_user_can_add_a_note_for_itself_but_not_for_another_user()
    {
        var added = await fixture.RunAsync(A, "insert into notes (body) values ($1) returning owner::text", "mine");
        Assert.Equal(UserA, (string)added.Rows.Single()["owner"]!);
        var forged = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(A, "insert into notes (owner, body) values ($1, 'planted')", UserB));
        Assert.Equal("42501", forged.SqlState);
        Assert.Contains("row-level security", forged.Message);
        await fixture.RunAsync(DbCaller.Service, "delete from notes where body = 'mine'");
    }

    [Fact]
    public async Task A_user_cannot_change_or_delete_another_users_notes()
    {
        var update = await fixture.RunAsync(A, "update notes set body = 'stolen' where body = 'b1'");
        Assert.Equal(0, update.RowCount);
        var delete = await fixture.RunAsync(A, "delete from notes where body = 'b1'");
        Assert.Equal(0, delete.RowCount);
        var still = await fixture.RunAsync(DbCaller.Service, "select body from notes where owner = $1", UserB);
        Assert.Equal("b1", (string)still.Rows.Single()["body"]!);
    }

    [Fact]
    public async Task Anon_cannot_write_and_reads_what_its_policy_allows()
    {
        var insert = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Anon, "insert into notes (owner, body) values ($1, 'x')", UserA));
        Assert.Equal("42501", insert.SqlState);
        var announcements = await fixture.RunAsync(DbCaller.Anon, "select title from announcements");
        Assert.Equal("hello", (string)announcements.Rows.Single()["title"]!);
        var write = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Anon, "insert into announcements values (2, 'spam')"));
        Assert.Equal("42501", write.SqlState);
    }

    [Fact]
    public async Task The_service_role_bypasses_rls()
    {
        var count = await fixture.RunAsync(DbCaller.Service, "select count(*) as n from notes where body in ('a1', 'a2', 'b1')");
        Assert.Equal("3", (string)count.Rows.Single()["n"]!);
    }

    [Fact]
    public async Task Parameters_are_bound_not_spliced()
    {
        var injection = "a1' or '1'='1";
        var none = await fixture.RunAsync(DbCaller.Service, "select body from notes where body = $1", injection);
        Assert.Empty(none.Rows);
        var one = await fixture.RunAsync(DbCaller.Service, "select body from notes where body = $1 and id > $2", "a1", 0);
        Assert.Equal("a1", (string)one.Rows.Single()["body"]!);
    }

    private static DbCaller Caller(string who) => who switch
    {
        "A" => A,
        "B" => B,
        "anon" => DbCaller.Anon,
        _ => DbCaller.Service,
    };
}
