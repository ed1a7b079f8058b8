using Isola.Host.Data.AppDatabases;
using Isola.Host.Tests.Infrastructure;
using Npgsql;
using static Isola.Host.Tests.Data.DataFixture;

namespace Isola.Host.Tests.Data;

/// <summary>
/// SQL a function could send through the executor, trying to leave its caller's role or claims.
/// Each attempt must gain nothing: it fails with PostgreSQL's refusal, or it sees only what the
/// caller could see anyway. The DO blocks let one statement try the switch and then read.
/// </summary>
public sealed class EscalationTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private static readonly DbCaller A = DbCaller.User(UserA);

    public static TheoryData<string, string> RoleSwitches => new()
    {
        { "reset role", "permission denied for table notes" },
        { "set role service_role", "permission denied to set role \"service_role\"" },
        { "set role authenticated", "" },
        { "perform set_config('role', 'service_role', false)", "permission denied to set role \"service_role\"" },
        { "perform set_config('role', 'anon', true)", "permission denied to set role \"anon\"" },
    };

    /// <summary>Runs <paramref name="attack"/>, then counts B's notes, inside one statement; the count comes back as an error text.</summary>
    private static string ThenCountBsNotes(string attack) => $$"""
        do $$
        declare n bigint;
        begin
            {{attack}};
            select count(*) into n from public.notes where owner = '{{UserB}}';
            raise exception 'saw % of B''s notes', n;
        end
        $$
        """;

    [Theory]
    [MemberData(nameof(RoleSwitches))]
    public async Task Switching_role_from_user_sql_gains_nothing(string attack, string refusal)
    {
        var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(A, ThenCountBsNotes(attack)));
        if (refusal.Length > 0)
        {
            Assert.Contains(refusal, error.Message);
        }
        else
        {
            // Allowed, because it is the role A already runs as; the policy still hides B's notes.
            Assert.Equal("saw 0 of B's notes", error.Message);
        }
    }

    [Fact]
    public async Task Set_role_to_the_superuser_or_the_owner_is_refused()
    {
        string superuser;
        await using (var admin = await fixture.OpenAdminAsync())
        await using (var command = new NpgsqlCommand("select rolname from pg_roles where rolsuper order by oid limit 1", admin))
        {
            superuser = (string)(await command.ExecuteScalarAsync())!;
        }

        foreach (var target in new[] { superuser, fixture.Names.Owner("default"), fixture.Names.Migrator("default"), fixture.Names.LoginRole("default", DbRole.Service) })
        {
            var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(A, ThenCountBsNotes($"set role \"{target}\"")));
            Assert.Contains("permission denied to set role", error.Message);
        }

        var session = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(A, ThenCountBsNotes($"set session authorization \"{superuser}\"")));
        Assert.Contains("permission denied to set session authorization", session.Message);
        // The service role itself cannot climb either.
        var fromService = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Service, $"select set_config('role', '{superuser}', true)"));
        Assert.Equal("42501", fromService.SqlState);
    }

    [Theory]
    [InlineData("perform set_config('request.jwt.claims', '{\"sub\":\"" + UserB + "\",\"role\":\"authenticated\"}', true)")]
    [InlineData("set local request.jwt.claims = '{\"sub\":\"" + UserB + "\",\"role\":\"authenticated\"}'")]
    [InlineData("perform set_config('request.jwt.claims', '{\"sub\":\"" + UserB + "\",\"role\":\"authenticated\"}', true), set_config('request.jwt.claims_sig', repeat('0', 64), true)")]
    public async Task Forged_claims_are_refused_instead_of_read(string forge)
    {
        var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(A, ThenCountBsNotes(forge)));
        Assert.Equal("42501", error.SqlState);
        Assert.Contains("request.jwt.claims was changed", error.Message);
    }

    [Fact]
    public async Task Clearing_the_claims_makes_the_caller_nobody()
    {
        var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(A, ThenCountBsNotes("perform set_config('request.jwt.claims', '', true)")));
        Assert.Equal("saw 0 of B's notes", error.Message);
    }

    [Fact]
    public async Task A_forged_anon_caller_cannot_become_a_user_either()
    {
        var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Anon,
            $"select set_config('request.jwt.claims', '{{\"sub\":\"{UserA}\",\"role\":\"authenticated\"}}', true), auth.uid()"));
        Assert.Equal("42501", error.SqlState);
    }

    [Fact]
    public async Task Session_level_settings_do_not_reach_the_next_caller()
    {
        // Not LOCAL: survives the COMMIT on that connection, until the pool resets it.
        await fixture.RunAsync(A, $"select set_config('request.jwt.claims', '{{\"sub\":\"{UserB}\"}}', false), set_config('statement_timeout', '0', false)");
        for (var i = 0; i < 3; i++)
        {
            var rows = await fixture.RunAsync(A, "select body from notes where body in ('a1', 'a2', 'b1') order by body");
            Assert.Equal(["a1", "a2"], rows.Rows.Select(row => (string)row["body"]!));
        }
    }

    [Fact]
    public async Task Several_statements_in_one_call_are_refused()
    {
        var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(A, "reset role; select * from notes"));
        Assert.Equal("42601", error.SqlState);
    }

    public static TheoryData<string, string> ServerAccess => new()
    {
        { "select pg_read_file('/etc/passwd')", "42501" },
        { "select pg_ls_dir('.')", "42501" },
        { "copy (select 1) to program 'id'", "42501" },
        { "copy notes to '/tmp/isola-notes-leak'", "42501" },
        { "create extension if not exists pgcrypto", "42501" },
        { "create extension if not exists dblink", "42501" },
        { "alter role authenticated bypassrls", "42501" },
        { "alter role service_role superuser", "42501" },
        { "create role intruder login superuser", "42501" },
        { "select rolpassword from pg_authid", "42501" },
        { "create table public.mine (id int)", "42501" },
        { "alter table notes disable row level security", "42501" },
        { "drop policy \"read own notes\" on notes", "42501" },
        { "create temp table scratch (id int)", "42501" },
        { "select * from auth.claims_key", "42501" },
        { "select * from isola_migrations.schema_migrations", "42501" },
    };

    [Theory]
    [MemberData(nameof(ServerAccess))]
    public async Task Server_files_programs_extensions_and_roles_are_out_of_reach_even_for_service_role(string sql, string sqlState)
    {
        foreach (var caller in new[] { A, DbCaller.Anon, DbCaller.Service })
        {
            var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(caller, sql));
            Assert.True(error.SqlState == sqlState, $"{caller.RoleName}: {sql} failed with {error.SqlState} {error.Message}, expected {sqlState}");
        }
    }

    [Fact]
    public async Task The_platform_tables_are_out_of_reach()
    {
        var platform = fixture.Names.PlatformDatabase;
        // Not in the app database at all...
        var local = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Service, "select * from isola.api_keys"));
        Assert.Equal("42P01", local.SqlState);
        // ...no cross-database references...
        var cross = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Service, $"select * from \"{platform}\".isola.api_keys"));
        Assert.Equal("0A000", cross.SqlState);
        // ...and none of the app's logins may even connect to the platform database.
        foreach (var login in fixture.Names.Logins("default"))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => ConnectAsAsync(login, platform));
            Assert.Equal("42501", refused.SqlState);
        }
    }

    [Fact]
    public async Task Another_apps_database_is_out_of_reach()
    {
        var created = await fixture.Host.Client.PostAsync("/v1/apps", Json(new { id = "other" }));
        await created.EnsureSuccessOrNoteExistsAsync();
        var migration = await fixture.Host.Client.PostAsync("/v1/other/db/migrations", Json(new { name = "001_secrets", sql = "create table secrets (v text); insert into secrets values ('other-app-secret');" }));
        await migration.EnsureSuccessOrExplainAsync();
        var seen = await fixture.RunInAsync("other", DbCaller.Service, "select v from secrets");
        Assert.Equal("other-app-secret", (string)seen.Rows.Single()["v"]!);

        var otherDatabase = fixture.Names.Database("other");
        var cross = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Service, $"select * from \"{otherDatabase}\".public.secrets"));
        Assert.Equal("0A000", cross.SqlState);
        var missing = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.RunAsync(DbCaller.Service, "select * from secrets"));
        Assert.Equal("42P01", missing.SqlState);
        foreach (var login in fixture.Names.Logins("default"))
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => ConnectAsAsync(login, otherDatabase));
            Assert.Equal("42501", refused.SqlState);
        }
    }

    /// <summary>Connects as <paramref name="login"/>; on the embedded cluster no password is asked, so only CONNECT privileges decide.</summary>
    private async Task ConnectAsAsync(string login, string database)
    {
        var builder = new NpgsqlConnectionStringBuilder(fixture.Host.ConnectionString) { Username = login, Database = database, Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
    }
}
