using System.Net.Http.Json;
using System.Net.Http.Headers;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Tests.Infrastructure;
using static Isola.Host.Tests.Data.DataFixture;

namespace Isola.Host.Tests.Data;

/// <summary><c>/v1/{app}/db/migrations</c>: 201 once, 200 on replay, 409 on changed SQL, 400 with nothing applied on failure.</summary>
public sealed class MigrationApiTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private HttpClient Client => fixture.Host.Client;

    [Fact]
    public async Task A_new_migration_is_applied_once_and_replays_are_no_ops()
    {
        var sql = "create table counters (id int primary key, n int not null); insert into counters values (1, 0);";
        var first = await (await Client.PostAsync("/v1/default/db/migrations", Json(new { name = "010_counters", sql }))).ShouldSucceedAsync(201);
        Assert.Equal("010_counters", first.GetProperty("name").GetString());
        Assert.True(first.GetProperty("applied").GetBoolean());
        Assert.Equal(AppMigrations.Checksum(sql), first.GetProperty("checksum").GetString());

        var again = await (await Client.PostAsync("/v1/default/db/migrations", Json(new { name = "010_counters", sql }))).ShouldSucceedAsync(200);
        Assert.False(again.GetProperty("applied").GetBoolean());
        // Re-running the insert would have failed on the primary key, or doubled the row.
        var rows = await fixture.RunAsync(DbCaller.Service, "select count(*) as n from counters");
        Assert.Equal("1", (string)rows.Rows.Single()["n"]!);

        var list = await (await Client.GetAsync("/v1/default/db/migrations")).ShouldSucceedAsync();
        var names = list.GetProperty("migrations").EnumerateArray().Select(m => m.GetProperty("name").GetString()).ToList();
        Assert.Contains("001_notes", names);
        Assert.Contains("010_counters", names);
    }

    [Fact]
    public async Task The_same_name_with_different_sql_is_a_conflict()
    {
        await (await Client.PostAsync("/v1/default/db/migrations", Json(new { name = "020_tags", sql = "create table tags (name text)" }))).ShouldSucceedAsync(201);
        var conflict = await (await Client.PostAsync("/v1/default/db/migrations", Json(new { name = "020_tags", sql = "create table tags (name text, color text)" })))
            .ShouldFailAsync(409, "MIGRATION_CONFLICT");
        Assert.Contains("020_tags", conflict.GetProperty("message").GetString());
        var columns = await fixture.RunAsync(DbCaller.Service, "select column_name from information_schema.columns where table_name = 'tags'");
        Assert.Equal(["name"], columns.Rows.Select(row => (string)row["column_name"]!));
    }

    [Fact]
    public async Task A_failing_migration_applies_nothing_and_reports_postgres_message_and_position()
    {
        var sql = "create table half_done (id int);\ninsert into half_done values (1);\nselect * from no_such_table;";
        var error = await (await Client.PostAsync("/v1/default/db/migrations", Json(new { name = "030_broken", sql }))).ShouldFailAsync(400, "MIGRATION_FAILED");
        Assert.Contains("relation \"no_such_table\" does not exist", error.GetProperty("message").GetString());
        Assert.Equal("42P01", error.GetProperty("sqlState").GetString());
        Assert.Equal(sql.IndexOf("no_such_table", StringComparison.Ordinal) + 1, error.GetProperty("position").GetInt32());

        var table = await fixture.RunAsync(DbCaller.Service, "select to_regclass('public.half_done')::text as t");
        Assert.Null(table.Rows.Single()["t"]);
        var list = await (await Client.GetAsync("/v1/default/db/migrations")).ShouldSucceedAsync();
        Assert.DoesNotContain(list.GetProperty("migrations").EnumerateArray(), m => m.GetProperty("name").GetString() == "030_broken");
        // The name stays free: a fixed migration under it applies.
        await (await Client.PostAsync("/v1/default/db/migrations", Json(new { name = "030_broken", sql = "create table half_done (id int);" }))).ShouldSucceedAsync(201);
    }

    [Fact]
    public async Task A_syntax_error_reports_its_position()
    {
        var sql = "create table ok_table (id int);\ncreate tabel typo (id int);";
        var error = await (await Client.PostAsync("/v1/default/db/migrations", Json(new { name = "040_typo", sql }))).ShouldFailAsync(400, "MIGRATION_FAILED");
        Assert.Equal("42601", error.GetProperty("sqlState").GetString());
        Assert.Equal(sql.IndexOf("tabel", StringComparison.Ordinal) + 1, error.GetProperty("position").GetInt32());
        var table = await fixture.RunAsync(DbCaller.Service, "select to_regclass('public.ok_table')::text as t");
        Assert.Null(table.Rows.Single()["t"]);
    }

    [Fact]
    public async Task Concurrent_posts_of_one_migration_apply_it_once()
    {
        // Not idempotent on its own: a second run would insert a second row.
        var sql = "create table if not exists once (id serial primary key, at timestamptz default now()); insert into once default values;";
        var posts = Enumerable.Range(0, 4).Select(_ => Client.PostAsync("/v1/default/db/migrations", Json(new { name = "050_once", sql })));
        var statuses = (await Task.WhenAll(posts)).Select(response => (int)response.StatusCode).OrderBy(s => s).ToList();
        Assert.Equal([200, 200, 200, 201], statuses);
        var rows = await fixture.RunAsync(DbCaller.Service, "select count(*) as n from once");
        Assert.Equal("1", (string)rows.Rows.Single()["n"]!);
    }

    [Fact]
    public async Task Migrations_run_as_the_apps_owner_and_new_tables_reach_the_three_roles()
    {
        await (await Client.PostAsync("/v1/default/db/migrations", Json(new
        {
            name = "060_whoami",
            sql = "create table whoami as select current_user::text as who; alter table whoami enable row level security; create policy everyone on whoami for select using (true);",
        }))).ShouldSucceedAsync(201);
        var owner = await fixture.RunAsync(DbCaller.Service, "select tableowner from pg_tables where tablename = 'whoami'");
        Assert.Equal(fixture.Names.Owner("default"), (string)owner.Rows.Single()["tableowner"]!);
        foreach (var caller in new[] { DbCaller.Anon, DbCaller.User(UserA), DbCaller.Service })
        {
            var row = await fixture.RunAsync(caller, "select who from whoami");
            Assert.Equal(fixture.Names.Owner("default"), (string)row.Rows.Single()["who"]!);
        }
    }

    [Theory]
    [InlineData("{\"sql\":\"select 1\"}", "name")]
    [InlineData("{\"name\":\"x\"}", "sql")]
    [InlineData("{\"name\":\"x\",\"sql\":\"  \"}", "sql")]
    [InlineData("{\"name\":\"bad name!\",\"sql\":\"select 1\"}", "name")]
    [InlineData("{\"name\":7,\"sql\":\"select 1\"}", "name")]
    [InlineData("{\"name\":\"x\",\"sql\":\"select 1\",\"extra\":1}", "extra")]
    public async Task Bad_input_is_a_400_naming_the_field(string body, string field)
    {
        var error = await (await Client.PostAsync("/v1/default/db/migrations", new StringContent(body, System.Text.Encoding.UTF8, "application/json")))
            .ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal(field, error.GetProperty("field").GetString());
    }

    [Fact]
    public async Task An_unknown_app_is_a_404()
    {
        await (await Client.PostAsync("/v1/nope/db/migrations", Json(new { name = "x", sql = "select 1" }))).ShouldFailAsync(404, "APP_NOT_FOUND");
    }

    [Fact]
    public async Task A_key_without_db_migrate_or_db_query_gets_403()
    {
        var created = await (await Client.PostAsJsonAsync("/v1/keys", new { name = "reader", permissions = new[] { "functions.read", "functions.create" } })).ShouldSucceedAsync(201);
        using var narrow = new HttpClient { BaseAddress = fixture.Host.Url };
        narrow.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.GetProperty("key").GetString());
        var migrate = await (await narrow.PostAsync("/v1/default/db/migrations", Json(new { name = "070_nope", sql = "create table nope (id int)" }))).ShouldFailAsync(403, "FORBIDDEN");
        Assert.Contains("db.migrate", migrate.GetProperty("message").GetString());
        await (await narrow.GetAsync("/v1/default/db/migrations")).ShouldFailAsync(403, "FORBIDDEN");
        var query = await (await narrow.PostAsync("/v1/default/db/query", Json(new { sql = "select 1" }))).ShouldFailAsync(403, "FORBIDDEN");
        Assert.Contains("db.query", query.GetProperty("message").GetString());
        await (await fixture.Host.Anonymous.PostAsync("/v1/default/db/query", Json(new { sql = "select 1" }))).ShouldFailAsync(401, "AUTH_REQUIRED");

        var granted = await (await Client.PostAsJsonAsync("/v1/keys", new { name = "dba", permissions = new[] { "db.migrate", "db.query" }, app = "default" })).ShouldSucceedAsync(201);
        using var dba = new HttpClient { BaseAddress = fixture.Host.Url };
        dba.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", granted.GetProperty("key").GetString());
        await (await dba.PostAsync("/v1/default/db/query", Json(new { sql = "select 1 as one" }))).ShouldSucceedAsync();
    }
}
