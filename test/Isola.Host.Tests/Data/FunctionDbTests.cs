using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Isola.Host.Tests.Data;

/// <summary>
/// ctx.db from real functions in real workers (features D1–D3): every statement runs in the app's own
/// database as the caller, under a Supabase-style policy <c>owner = auth.uid()</c>.
/// </summary>
public sealed class FunctionDbTests : IAsyncLifetime
{
    private static readonly string UserA = Guid.NewGuid().ToString();
    private static readonly string UserB = Guid.NewGuid().ToString();
    private TestHost _host = null!;
    private HttpClient _a = null!;
    private HttpClient _b = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(options => options with { Workers = options.Workers with { Prestarted = 1 } });
        await (await _host.Client.PostAsJsonAsync("/v1/default/db/migrations", new
        {
            name = "001_notes",
            sql = """
                create table notes (
                  id bigint generated always as identity primary key,
                  owner uuid not null default auth.uid(),
                  title text not null
                );
                alter table notes enable row level security;
                create policy "own notes" on notes for all to authenticated
                  using (owner = (select auth.uid())) with check (owner = (select auth.uid()));
                """,
        })).ShouldSucceedAsync(201);
        await (await _host.Client.PostAsJsonAsync("/v1/default/functions", new
        {
            name = "notes",
            code = TestEnvironment.Fixture("data/notes/index.ts"),
            verifyJwt = false,
            timeoutMs = 3000,
        })).ShouldSucceedAsync(201);
        _a = await UserClientAsync(UserA);
        _b = await UserClientAsync(UserB);
    }

    public async Task DisposeAsync()
    {
        _a.Dispose();
        _b.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Each_caller_sees_what_the_policy_lets_it_see()
    {
        await (await _a.PostAsync("/v1/default/fn/notes/add?title=a1", null)).ShouldSucceedAsync();
        await (await _a.PostAsync("/v1/default/fn/notes/add?title=a2", null)).ShouldSucceedAsync();
        var added = await (await _b.PostAsync("/v1/default/fn/notes/add?title=b1", null)).ShouldSucceedAsync();
        Assert.Equal(UserB, added.GetProperty("owner").GetString()); // default auth.uid() filled in the owner

        Assert.Equal(["a1", "a2"], await TitlesAsync(_a, "mine"));
        Assert.Equal(["b1"], await TitlesAsync(_b, "mine"));
        Assert.Empty(await TitlesAsync(_host.Anonymous, "mine")); // anon: no policy, RLS shows nothing
        Assert.Equal(["a1", "a2", "b1"], await TitlesAsync(_host.Client, "mine")); // the admin key: service_role bypasses RLS

        // Anonymous callers cannot write: no policy lets anon insert.
        var refused = await (await _host.Anonymous.PostAsync("/v1/default/fn/notes/add?title=x", null)).JsonAsync();
        Assert.Equal("42501", refused.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("deno-serve", "Deno.serve(async (req, info) => Response.json((await info.db.query('select 41 + $1::int as answer', [1])).rows[0]));")]
    [InlineData("fetch-object", "export default { async fetch(req, env, ctx) { return Response.json((await ctx.db.query('select 41 + $1::int as answer', [1])).rows[0]); } };")]
    [InlineData("molnos", "async function handler(request, context) { const { rows } = await context.db.query('select 41 + $1::int as answer', [1]); return { statusCode: 200, body: rows[0] }; }")]
    public async Task Every_handler_shape_gets_the_database(string shape, string code)
    {
        await (await _host.Client.PostAsJsonAsync("/v1/default/functions", new { name = "db-" + shape, code, verifyJwt = false })).ShouldSucceedAsync(201);
        var answer = await (await _a.GetAsync($"/v1/default/fn/db-{shape}")).ShouldSucceedAsync();
        Assert.Equal(42, answer.GetProperty("answer").GetInt32());
    }

    [Fact]
    public async Task AsUser_and_asAnon_run_under_that_role_and_asUser_needs_a_service_invocation()
    {
        await (await _a.PostAsync("/v1/default/fn/notes/add?title=mine-a", null)).ShouldSucceedAsync();
        Assert.Equal(["mine-a"], await TitlesAsync(_host.Client, $"as-user?user={UserA}"));
        Assert.Empty(await TitlesAsync(_host.Client, "as-anon"));
        Assert.Empty(await TitlesAsync(_a, "as-anon"));

        var impersonation = await (await _b.GetAsync($"/v1/default/fn/notes/as-user?user={UserA}")).JsonAsync();
        Assert.Equal("FORBIDDEN", impersonation.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_transaction_commits_together_and_a_throw_rolls_it_back()
    {
        var ids = await (await _a.PostAsync("/v1/default/fn/notes/tx-commit", null)).ShouldSucceedAsync();
        Assert.Equal(2, ids.GetArrayLength());
        var thrown = await (await _a.PostAsync("/v1/default/fn/notes/tx-throw", null)).ShouldSucceedAsync();
        Assert.Equal("changed my mind", thrown.GetProperty("thrown").GetString());
        Assert.Equal(["tx-1", "tx-2"], await TitlesAsync(_a, "mine"));
    }

    [Fact]
    public async Task A_stray_BEGIN_from_function_SQL_leaves_no_connection_inside_a_transaction()
    {
        await (await _a.PostAsync("/v1/default/fn/notes/stray-begin", null)).ShouldSucceedAsync();
        Assert.Contains("after-begin", await TitlesAsync(_a, "mine")); // committed, not stranded in an open block
        Assert.Contains("after-begin", await TitlesAsync(_host.Client, "mine"));
    }

    [Fact]
    public async Task A_transaction_left_open_when_the_invocation_ends_is_rolled_back()
    {
        await (await _a.PostAsync("/v1/default/fn/notes/tx-abandon", null)).ShouldSucceedAsync();
        var transactions = _host.Server.Services.GetRequiredService<Isola.Host.Data.FunctionDb.DbTransactions>();
        for (var i = 0; i < 100 && transactions.Count > 0; i++)
        {
            await Task.Delay(50);
        }

        Assert.Equal(0, transactions.Count);
        Assert.Empty(await TitlesAsync(_host.Client, "mine")); // the insert never committed
    }

    [Fact]
    public async Task Parameters_are_bound_and_values_map_to_the_documented_JavaScript_types()
    {
        var row = await (await _host.Client.GetAsync("/v1/default/fn/notes/types")).ShouldSucceedAsync();
        Assert.Equal("9007199254740993", row.GetProperty("big").GetString());
        Assert.Equal("12.50", row.GetProperty("money").GetString());
        Assert.Equal("two", row.GetProperty("doc").GetProperty("a")[1].GetString());
        Assert.Equal("2026-01-02T03:04:05.000000Z", row.GetProperty("at").GetString()); // PostgreSQL's microseconds kept; Date parses it
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), DateTimeOffset.Parse(row.GetProperty("at").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(row.GetProperty("rawIsBytes").GetBoolean());
        Assert.Equal([0, 1, 2, 250, 255], row.GetProperty("raw").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal([1, 2, 3], row.GetProperty("ints").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(["a \"b\"", "c\\d", null], row.GetProperty("words").EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Null ? null : e.GetString()));
        Assert.Equal(JsonValueKind.Null, row.GetProperty("nothing").ValueKind);
        Assert.True(row.GetProperty("yes").GetBoolean());
        Assert.Equal(7, row.GetProperty("small").GetInt32());
        Assert.Equal(1.5, row.GetProperty("ratio").GetDouble());
        Assert.Equal("it's", row.GetProperty("quote").GetString());

        var matches = await (await _host.Client.GetAsync("/v1/default/fn/notes/any")).ShouldSucceedAsync();
        Assert.Equal([2, 4], matches.EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public async Task A_database_error_reaches_the_function_with_its_sqlstate_and_position()
    {
        var error = (await (await _host.Client.GetAsync("/v1/default/fn/notes/bad-sql")).JsonAsync()).GetProperty("error");
        Assert.Equal("42P01", error.GetProperty("code").GetString());
        Assert.Contains("no_such_table", error.GetProperty("message").GetString());
        Assert.Equal(15, error.GetProperty("position").GetInt32());
        Assert.True(error.GetProperty("isError").GetBoolean());
    }

    [Fact]
    public async Task An_uncaught_database_error_is_a_500_with_the_PostgreSQL_message_in_the_log()
    {
        var response = await _host.Client.GetAsync("/v1/default/fn/notes/uncaught");
        await response.ShouldFailAsync(500, "FUNCTION_ERROR");
        var invocation = response.Headers.GetValues("x-isola-invocation-id").Single();
        var log = await InvocationLogs.WaitForAsync(_host, "notes", invocation, _ => true);
        Assert.Contains("violates not-null constraint", log.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task A_statement_past_the_invocation_deadline_is_cancelled_in_PostgreSQL()
    {
        // statement_timeout is the invocation's remaining time, so PostgreSQL cancels the statement as
        // the gateway answers 504: whichever the caller hears first, the statement must not live on.
        var response = await _host.Client.GetAsync("/v1/default/fn/notes/sleep");
        var error = (await response.JsonAsync()).GetProperty("error");
        Assert.Contains(error.GetProperty("code").GetString(), new[] { "57014", "FUNCTION_TIMEOUT" });
        await using var admin = new NpgsqlConnection(_host.ConnectionString);
        await admin.OpenAsync();
        await using var sleeping = new NpgsqlCommand("select count(*) from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'", admin);
        var running = -1L;
        for (var i = 0; i < 50 && running != 0; i++) // the cancel lands within moments of the deadline
        {
            running = (long)(await sleeping.ExecuteScalarAsync())!;
            if (running != 0)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(0L, running);
    }

    [Fact]
    public async Task A_result_over_the_size_cap_fails_with_a_clear_error()
    {
        var error = (await (await _host.Client.GetAsync("/v1/default/fn/notes/huge")).JsonAsync()).GetProperty("error");
        Assert.Equal("RESULT_TOO_LARGE", error.GetProperty("code").GetString());
        Assert.Contains("bytes", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Function_SQL_cannot_change_its_role_or_forge_its_claims()
    {
        await (await _a.PostAsync("/v1/default/fn/notes/add?title=secret-a", null)).ShouldSucceedAsync();
        var attempts = await (await _b.GetAsync("/v1/default/fn/notes/escalate")).ShouldSucceedAsync();
        foreach (var attempt in attempts.EnumerateObject())
        {
            // Either refused outright, or still B's view: nothing of A's becomes visible.
            if (attempt.Value.TryGetProperty("refused", out _))
            {
                continue;
            }

            Assert.Equal(0, attempt.Value.GetProperty("seen").GetInt32());
            Assert.DoesNotContain("service", attempt.Value.GetProperty("who").GetString());
        }

        var forged = await (await _b.GetAsync($"/v1/default/fn/notes/forge?user={UserA}")).JsonAsync();
        var seen = forged.TryGetProperty("seen", out var count) ? count.GetInt32() : 0;
        Assert.Equal(0, seen);
    }

    private async Task<HttpClient> UserClientAsync(string sub)
    {
        var minted = await (await _host.Client.PostAsJsonAsync("/v1/default/auth/token", new { sub, email = sub + "@example.com" })).ShouldSucceedAsync();
        var client = new HttpClient { BaseAddress = _host.Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", minted.GetProperty("token").GetString());
        return client;
    }

    private static async Task<string[]> TitlesAsync(HttpClient client, string action)
    {
        var titles = await (await client.GetAsync("/v1/default/fn/notes/" + action)).ShouldSucceedAsync();
        return [.. titles.EnumerateArray().Select(t => t.GetString()!)];
    }
}
