using System.Diagnostics;
using System.Text.Json;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Data;

/// <summary><c>POST /v1/{app}/db/query</c>: one statement as service_role, the documented type mapping, and the executor's limits.</summary>
public sealed class QueryApiTests(DataFixture fixture) : IClassFixture<DataFixture>
{
    private async Task<JsonElement> QueryAsync(object body, int status = 200) =>
        await (await fixture.Host.Client.PostAsync("/v1/default/db/query", DataFixture.Json(body))).ShouldSucceedAsync(status);

    [Fact]
    public async Task Types_map_to_json_as_documented()
    {
        var result = await QueryAsync(new
        {
            sql = """
                select 1::int2 as i2, 2::int4 as i4, 9007199254740993::int8 as i8, 12345678901234567890.123456789::numeric as num,
                       1.5::float8 as f8, 'NaN'::float8 as nan, true as flag, 'text'::text as t, null::text as nothing,
                       '{"a": [1, "x", null]}'::jsonb as jb, '[1,2]'::json as j,
                       '2026-12-02 06:03:01.123456+00'::timestamptz as tstz, '2026-12-02 06:03:01'::timestamp as ts,
                       '2026-12-02'::date as d, '\xdeadbeef'::bytea as bin, '7c9e6679-7425-40de-944b-e07fc1f90ae7'::uuid as id,
                       array[1, 2, null]::int4[] as ints, array[1]::int8[] as bigs, array['a', 'b'] as texts,
                       array[array[1, 2], array[3, 4]] as grid, array['{"k":1}'::jsonb] as docs, '1 day'::interval as span
                """,
        });
        var row = result.GetProperty("rows")[0];
        Assert.Equal(1, row.GetProperty("i2").GetInt32());
        Assert.Equal(2, row.GetProperty("i4").GetInt32());
        Assert.Equal("9007199254740993", row.GetProperty("i8").GetString());
        Assert.Equal("12345678901234567890.123456789", row.GetProperty("num").GetString());
        Assert.Equal(1.5, row.GetProperty("f8").GetDouble());
        Assert.Equal("NaN", row.GetProperty("nan").GetString());
        Assert.True(row.GetProperty("flag").GetBoolean());
        Assert.Equal("text", row.GetProperty("t").GetString());
        Assert.Equal(JsonValueKind.Null, row.GetProperty("nothing").ValueKind);
        Assert.Equal("""{"a":[1,"x",null]}""", row.GetProperty("jb").GetRawText());
        Assert.Equal("[1,2]", row.GetProperty("j").GetRawText());
        Assert.Equal("2026-12-02T06:03:01.123456Z", row.GetProperty("tstz").GetString());
        Assert.Equal("2026-12-02T06:03:01.000000", row.GetProperty("ts").GetString());
        Assert.Equal("2026-12-02", row.GetProperty("d").GetString());
        Assert.Equal(Convert.ToBase64String([0xde, 0xad, 0xbe, 0xef]), row.GetProperty("bin").GetString());
        Assert.Equal("7c9e6679-7425-40de-944b-e07fc1f90ae7", row.GetProperty("id").GetString());
        Assert.Equal("[1,2,null]", row.GetProperty("ints").GetRawText());
        Assert.Equal("""["1"]""", row.GetProperty("bigs").GetRawText());
        Assert.Equal("""["a","b"]""", row.GetProperty("texts").GetRawText());
        Assert.Equal("[[1,2],[3,4]]", row.GetProperty("grid").GetRawText());
        Assert.Equal("""[{"k":1}]""", row.GetProperty("docs").GetRawText());
        Assert.Equal("1.00:00:00", row.GetProperty("span").GetString());
        Assert.Equal(1, result.GetProperty("rowCount").GetInt32());
        var fields = result.GetProperty("fields").EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!, f => f.GetProperty("dataType").GetString());
        Assert.Equal("int8", fields["i8"]);
        Assert.Equal("_int4", fields["ints"]);
        Assert.Equal("timestamptz", fields["tstz"]);
    }

    [Fact]
    public async Task Params_bind_in_order_and_postgres_infers_their_types()
    {
        var result = await QueryAsync(new
        {
            sql = "select $1::int + 1 as n, $2 = 'x' as is_x, $3::jsonb -> 'k' as k, $4::boolean as b, $5::text is null as was_null",
            @params = new object?[] { 41, "x", new { k = "v" }, true, null },
        });
        var row = result.GetProperty("rows")[0];
        Assert.Equal(42, row.GetProperty("n").GetInt32());
        Assert.True(row.GetProperty("is_x").GetBoolean());
        Assert.Equal("v", row.GetProperty("k").GetString());
        Assert.True(row.GetProperty("b").GetBoolean());
        Assert.True(row.GetProperty("was_null").GetBoolean());
    }

    [Fact]
    public async Task It_runs_as_service_role_and_counts_changed_rows()
    {
        var who = await QueryAsync(new { sql = "select current_user as r" });
        Assert.Equal("service_role", who.GetProperty("rows")[0].GetProperty("r").GetString());
        var update = await QueryAsync(new { sql = "update announcements set title = title where id = $1", @params = new[] { 1 } });
        Assert.Equal(1, update.GetProperty("rowCount").GetInt32());
        Assert.Equal(0, update.GetProperty("rows").GetArrayLength());
    }

    [Fact]
    public async Task Sql_errors_are_400_with_postgres_details()
    {
        var error = await (await fixture.Host.Client.PostAsync("/v1/default/db/query", DataFixture.Json(new { sql = "select * from missing_table" })))
            .ShouldFailAsync(400, "QUERY_FAILED");
        Assert.Equal("42P01", error.GetProperty("sqlState").GetString());
        Assert.Equal(15, error.GetProperty("position").GetInt32());
        var two = await (await fixture.Host.Client.PostAsync("/v1/default/db/query", DataFixture.Json(new { sql = "select 1; select 2" })))
            .ShouldFailAsync(400, "QUERY_FAILED");
        Assert.Equal("42601", two.GetProperty("sqlState").GetString());
    }

    [Theory]
    [InlineData("{}", "sql")]
    [InlineData("{\"sql\":5}", "sql")]
    [InlineData("{\"sql\":\"select 1\",\"params\":{}}", "params")]
    [InlineData("{\"sql\":\"select 1\",\"limit\":1}", "limit")]
    public async Task Bad_input_is_a_400_naming_the_field(string body, string field)
    {
        var error = await (await fixture.Host.Client.PostAsync("/v1/default/db/query", new StringContent(body, System.Text.Encoding.UTF8, "application/json")))
            .ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal(field, error.GetProperty("field").GetString());
    }

    [Fact]
    public async Task An_oversized_result_fails_clearly_and_the_pool_keeps_working()
    {
        // The fixture caps results at 256 KiB; this asks for about 100 MB.
        var error = await (await fixture.Host.Client.PostAsync("/v1/default/db/query", DataFixture.Json(new { sql = "select repeat('x', 1000) as filler from generate_series(1, 100000)" })))
            .ShouldFailAsync(400, "RESULT_TOO_LARGE");
        Assert.Contains("262144 bytes", error.GetProperty("message").GetString());
        for (var i = 0; i < 12; i++)
        {
            var ok = await QueryAsync(new { sql = "select 1 as one" });
            Assert.Equal(1, ok.GetProperty("rows")[0].GetProperty("one").GetInt32());
        }
    }

    [Fact]
    public async Task A_statement_past_the_deadline_is_cancelled_in_postgres()
    {
        var marker = "deadline-" + Guid.NewGuid().ToString("N");
        var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.Executor.ExecuteAsync("default", DbCaller.Service,
            $"select pg_sleep(60), '{marker}'", [], DateTimeOffset.UtcNow.AddMilliseconds(300), CancellationToken.None));
        Assert.Equal(SqlFailure.Timeout, error.Failure);
        Assert.Equal("57014", error.SqlState);
        // Cancelled, not abandoned: no backend is still running it.
        var running = await fixture.RunAsync(DbCaller.Service, "select count(*) as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()", $"%{marker}%");
        Assert.Equal("0", (string)running.Rows.Single()["n"]!);
    }

    [Fact]
    public async Task A_passed_deadline_sends_nothing()
    {
        var error = await Assert.ThrowsAsync<SqlExecutionException>(() => fixture.Executor.ExecuteAsync("default", DbCaller.Service,
            "select 1", [], DateTimeOffset.UtcNow.AddSeconds(-1), CancellationToken.None));
        Assert.Equal(SqlFailure.Timeout, error.Failure);
    }
}
