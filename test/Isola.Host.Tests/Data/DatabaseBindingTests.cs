using System.Net.Http.Json;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Data;

/// <summary>
/// MolnOS database bindings (feature D4): a function's own PostgreSQL login holds exactly the grants it
/// declared (read = SELECT, write = INSERT/UPDATE/DELETE), bypasses RLS like a service account, and
/// reaches nothing else; deploys and updates re-grant, and a binding to a missing table is refused.
/// </summary>
public sealed class DatabaseBindingTests : IAsyncLifetime
{
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _host = await TestHost.StartAsync(options => options with { Workers = options.Workers with { Prestarted = 1 } });
        await (await _host.Client.PostAsJsonAsync("/v1/default/db/migrations", new
        {
            name = "001_shop",
            sql = """
                create table orders (id serial primary key, item text not null);
                alter table orders enable row level security; -- no policy: only a bypass sees rows
                create table payroll (id int primary key, salary int);
                insert into orders (item) values ('apple'), ('pear');
                insert into payroll values (1, 100);
                """,
        })).ShouldSucceedAsync(201);
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_read_binding_reads_its_table_past_RLS_and_nothing_else()
    {
        await DeployAsync("reader", Binding("read", "orders"));
        var read = await SqlAsync("reader", "select item from orders order by id");
        Assert.Equal(2, read.GetProperty("rowCount").GetInt32());

        Assert.Equal("42501", await RefusedAsync("reader", "insert into orders (item) values ('plum')"));
        Assert.Equal("42501", await RefusedAsync("reader", "select * from payroll"));
        Assert.Equal("42501", await RefusedAsync("reader", "set role service_role"));
    }

    [Fact]
    public async Task A_write_binding_inserts_updates_and_deletes_but_cannot_read_and_update_regrants()
    {
        await DeployAsync("writer", Binding("write", "orders"));
        Assert.Equal(1, (await SqlAsync("writer", "insert into orders (item) values ('plum')")).GetProperty("rowCount").GetInt32()); // serial: sequence granted too
        Assert.Equal("42501", await RefusedAsync("writer", "select * from orders"));

        // An update re-grants: now read only.
        await (await _host.Client.PutAsJsonAsync("/v1/default/functions/writer", new { bindings = new[] { Binding("read", "orders") } })).ShouldSucceedAsync();
        Assert.True((await SqlAsync("writer", "select * from orders")).GetProperty("rowCount").GetInt32() >= 2);
        Assert.Equal("42501", await RefusedAsync("writer", "insert into orders (item) values ('fig')"));

        // Rolling back to version 1 gives back its grants.
        await (await _host.Client.PostAsJsonAsync("/v1/default/functions/writer/rollback", new { version = 1 })).ShouldSucceedAsync();
        Assert.Equal("42501", await RefusedAsync("writer", "select * from orders"));
    }

    [Fact]
    public async Task The_MolnOS_shape_gets_the_binding_as_context_bindings_databases()
    {
        await DeployAsync("molnos-orders", Binding("read", "orders"), "data/binding-molnos/index.js");
        var body = await (await _host.Client.GetAsync("/v1/default/fn/molnos-orders")).ShouldSucceedAsync();
        Assert.True(body.GetProperty("orders").GetInt32() >= 2);
    }

    [Fact]
    public async Task A_function_without_a_binding_has_none()
    {
        await DeployAsync("unbound", null);
        var error = (await (await _host.Client.GetAsync("/v1/default/fn/unbound?sql=select%201")).JsonAsync()).GetProperty("error");
        Assert.Equal("NO_BINDING", error.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_binding_to_a_table_that_does_not_exist_is_400_and_nothing_is_stored()
    {
        var response = await _host.Client.PostAsJsonAsync("/v1/default/functions", new
        {
            name = "ghost-reader",
            code = TestEnvironment.Fixture("data/binding-sql/index.ts"),
            bindings = new[] { Binding("read", "orders", "ghosts") },
        });
        var error = await response.ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("bindings[0].permissions[0].targets[1]", error.GetProperty("field").GetString());
        Assert.Contains("ghosts", error.GetProperty("message").GetString());
        Assert.Equal(404, (int)(await _host.Client.GetAsync("/v1/default/functions/ghost-reader")).StatusCode);
    }

    private static object Binding(string action, params string[] tables) =>
        new { service = "databases", permissions = new[] { new { resource = "table", actions = new[] { action }, targets = tables } } };

    private async Task DeployAsync(string name, object? binding, string fixture = "data/binding-sql/index.ts") =>
        await (await _host.Client.PostAsJsonAsync("/v1/default/functions", new
        {
            name,
            code = TestEnvironment.Fixture(fixture),
            bindings = binding is null ? Array.Empty<object>() : new[] { binding },
        })).ShouldSucceedAsync(201);

    private async Task<JsonElement> SqlAsync(string function, string sql) =>
        await (await _host.Client.GetAsync($"/v1/default/fn/{function}?sql={Uri.EscapeDataString(sql)}")).ShouldSucceedAsync();

    private async Task<string?> RefusedAsync(string function, string sql)
    {
        var body = await (await _host.Client.GetAsync($"/v1/default/fn/{function}?sql={Uri.EscapeDataString(sql)}")).JsonAsync();
        return body.TryGetProperty("error", out var error) ? error.GetProperty("code").GetString() : "not refused: " + body;
    }
}
