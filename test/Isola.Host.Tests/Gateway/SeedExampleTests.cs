using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Isola.Host.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Isola.Host.Tests.Gateway;

/// <summary>The seed documents' examples, deployed and called as their docs show.</summary>
public sealed class SeedExampleTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task Butterbase_hello_world_answers_its_greeting()
    {
        await fixture.DeployFixtureAsync("seed-hello", "gateway/butterbase-hello/index.ts");
        var response = await Host.Caller.PostAsJsonAsync("/v1/default/fn/seed-hello", new { input = "data" });
        var body = await response.ShouldSucceedAsync();
        Assert.Equal("Hello!", body.GetProperty("message").GetString());
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Butterbase_env_example_calls_out_with_its_secret()
    {
        using var upstream = await LoopbackServer.StartAsync(async context =>
        {
            var auth = context.Request.Headers.Authorization;
            context.Response.StatusCode = 200;
            await context.Response.WriteAsync(context.Request.Path == "/data" ? $"data for {auth}" : "wrong path");
        });
        await fixture.DeployFixtureAsync("seed-env", "gateway/butterbase-env/index.ts", new Dictionary<string, object?>
        {
            ["envVars"] = new Dictionary<string, string> { ["API_KEY"] = "secret123", ["BASE_URL"] = upstream.Url },
            ["network"] = new Dictionary<string, object> { ["allowPrivate"] = true }, // the upstream is on loopback
        });
        await FirstCall.WarmAsync(Host, "seed-env");
        var response = await Host.Caller.GetAsync("/v1/default/fn/seed-env");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("data for Bearer secret123", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MolnOS_http_only_event_only_and_hybrid_functions()
    {
        await (await Host.Client.PostAsJsonAsync("/functions/deploy", new
        {
            name = "my-api",
            code = "async function handler(request, context) { return { statusCode: 200, body: { ok: true } }; }",
            triggers = new[] { new { type = "http" } },
        })).ShouldSucceedAsync(201);
        await (await Host.Client.PostAsJsonAsync("/functions/deploy", new
        {
            name = "order-processor",
            code = "async function handler(event, context) { return { statusCode: 200, body: { processed: true } }; }",
            triggers = new object[] { new { type = "event", eventName = "order.created" }, new { type = "event", eventName = "order.updated" } },
        })).ShouldSucceedAsync(201);
        await (await Host.Client.PostAsJsonAsync("/functions/deploy", new
        {
            name = "dual-trigger",
            code = "async function handler(request, context) { return { statusCode: 200, body: { handled: true } }; }",
            triggers = new object[] { new { type = "http" }, new { type = "event", eventName = "data.synced" } },
        })).ShouldSucceedAsync(201);

        var ok = await (await Host.Caller.GetAsync("/functions/run/my-api")).ShouldSucceedAsync();
        Assert.True(ok.GetProperty("ok").GetBoolean());
        await (await Host.Caller.PostAsync("/functions/run/order-processor", null)).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        await (await Host.Caller.GetAsync("/v1/default/fn/order-processor")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        var hybrid = await (await Host.Caller.PostAsync("/functions/run/dual-trigger", null)).ShouldSucceedAsync();
        Assert.True(hybrid.GetProperty("handled").GetBoolean());

        // MolnOS's stats count the invocations too (records land in batches, so poll briefly).
        var deadline = DateTime.UtcNow.AddSeconds(10);
        long counted;
        do
        {
            var stats = await (await Host.Client.GetAsync("/functions/stats")).ShouldSucceedAsync();
            counted = stats.GetProperty("invocations").GetProperty("count").GetInt64();
        }
        while (counted < 2 && DateTime.UtcNow < deadline);
        Assert.True(counted >= 2, $"stats counted {counted} invocations");
    }

    [Fact]
    public async Task MolnOS_wildcard_subpath_reaches_the_function()
    {
        await fixture.DeployFixtureAsync("api", "gateway/molnos-subpath/index.js", new Dictionary<string, object?> { ["methods"] = new[] { "GET", "POST" } });
        var response = await Host.Caller.GetAsync("/functions/run/api/api/users/123?active=true");
        var body = await response.ShouldSucceedAsync();
        Assert.Equal("/api/users/123", body.GetProperty("subpath").GetString());
        Assert.Equal("/functions/run/api/api/users/123", body.GetProperty("path").GetString());
        Assert.Equal("true", body.GetProperty("query").GetProperty("active").GetString());
        Assert.Equal("api", response.Headers.GetValues("x-function").Single());

        var posted = await (await Host.Caller.PostAsJsonAsync("/v1/default/fn/api/orders", new { qty = 2 })).ShouldSucceedAsync();
        Assert.Equal("/orders", posted.GetProperty("subpath").GetString());
        Assert.Equal(2, posted.GetProperty("body").GetProperty("qty").GetInt32()); // JSON bodies arrive parsed

        var wrong = await Host.Caller.DeleteAsync("/functions/run/api/x");
        await wrong.ShouldFailAsync(405, "METHOD_NOT_ALLOWED");
        Assert.Equal("GET, POST", string.Join(", ", wrong.Content.Headers.Allow));
    }

    [Fact]
    public async Task Supabase_CORS_example_answers_preflight_and_calls()
    {
        await fixture.DeployFixtureAsync("browser-with-cors", "gateway/supabase-cors/index.ts", new Dictionary<string, object?> { ["methods"] = new[] { "POST" } });
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/functions/v1/browser-with-cors");
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization, content-type");
        var options = await Host.Caller.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.OK, options.StatusCode); // OPTIONS reaches the function despite methods: [POST]
        Assert.Equal("*", options.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("ok", await options.Content.ReadAsStringAsync());

        var call = await (await Host.Caller.PostAsJsonAsync("/functions/v1/browser-with-cors", new { name = "Functions" })).ShouldSucceedAsync();
        Assert.Equal("Hello Functions!", call.GetProperty("message").GetString());
        var bad = await Host.Caller.PostAsync("/functions/v1/browser-with-cors", new StringContent("not json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("*", bad.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task Supabase_routing_example_routes_by_method_and_URLPattern()
    {
        await fixture.DeployFixtureAsync("supabase-routing", "gateway/supabase-routing/index.ts");
        const string root = "/functions/v1/supabase-routing/tasks";
        var one = await (await Host.Caller.GetAsync(root + "/1")).ShouldSucceedAsync();
        Assert.Equal("write docs", one.GetProperty("task").GetProperty("name").GetString());
        await (await Host.Caller.PutAsJsonAsync(root + "/2", new { task = new { name = "ship", status = 1 } })).ShouldSucceedAsync();
        var all = await (await Host.Caller.GetAsync(root)).ShouldSucceedAsync();
        Assert.Equal(["1", "2"], all.GetProperty("tasks").EnumerateArray().Select(t => t.GetString()!));
        await (await Host.Caller.DeleteAsync(root + "/1")).ShouldSucceedAsync();
        Assert.Equal(HttpStatusCode.NotFound, (await Host.Caller.GetAsync(root + "/1")).StatusCode);
    }

    [Fact]
    public async Task Supabase_gzip_example_reads_a_compressed_body()
    {
        await fixture.DeployFixtureAsync("gzip", "gateway/supabase-gzip/index.ts");
        using var compressed = new MemoryStream();
        await using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            await gzip.WriteAsync(Encoding.UTF8.GetBytes("""{"hello":"compressed"}"""));
        }

        var content = new ByteArrayContent(compressed.ToArray());
        content.Headers.ContentEncoding.Add("gzip");
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var response = await Host.Caller.PostAsync("/functions/v1/gzip", content);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
        var plain = await Host.Caller.PostAsync("/functions/v1/gzip", new StringContent("{}"));
        Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
    }

    [Fact]
    public async Task Supabase_background_task_runs_after_the_response_and_logs_to_its_invocation()
    {
        await fixture.DeployFixtureAsync("background", "gateway/supabase-background/index.ts");
        var response = await Host.Caller.GetAsync("/functions/v1/background?label=bg1");
        Assert.Equal("accepted bg1", await response.Content.ReadAsStringAsync());
        var invocationId = response.Headers.GetValues("x-isola-invocation-id").Single();

        var logs = await InvocationLogs.WaitForAsync(Host, "background", invocationId,
            inv => inv.GetProperty("logs").EnumerateArray().Any(l => l.GetProperty("msg").GetString() == "background task bg1 finished"));
        Assert.Equal(200, logs.GetProperty("status").GetInt32());
    }
}
