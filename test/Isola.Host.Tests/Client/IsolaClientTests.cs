using System.Text;
using System.Text.Json.Nodes;
using Isola.Client;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Client;

/// <summary>feature K5: the .NET client (the one the CLI uses) against a real node, made the way an app makes it: AddIsolaClient.</summary>
public sealed class IsolaClientTests(HostFixture fixture) : IClassFixture<HostFixture>, IDisposable
{
    private readonly ServiceProvider _services = Services(fixture.Host);

    private IsolaClient Client => _services.GetRequiredService<IsolaClient>();

    public void Dispose() => _services.Dispose();

    private sealed record Sum(int A, int B);

    private sealed record SumResult(int Total);

    [Fact]
    public async Task Invoke_and_call_read_json_text_and_bytes_and_send_json()
    {
        var name = Unique("calc");
        await Client.Functions.DeployAsync(name, new FunctionDeployment
        {
            Code = """
                export default async (req) => {
                  const url = new URL(req.url);
                  if (url.pathname.endsWith("/text")) return new Response("plain text");
                  if (url.pathname.endsWith("/bytes")) return new Response(new Uint8Array([0, 1, 254, 255]));
                  if (url.pathname.endsWith("/teapot")) return new Response("short and stout", { status: 418 });
                  const { a, b } = await req.json();
                  return Response.json({ total: a + b, method: req.method });
                };
                """,
        });

        // CallAsync calls a typed function by name with its arguments (POST /api/fn).
        await Client.Functions.DeployAsync(name + "-typed", new FunctionDeployment
        {
            Code = """
                import { query, v } from "@isola/functions";
                export default query({
                  args: { a: v.int(), b: v.int() },
                  handler(ctx, args) {
                    if (args.a < 0) throw ctx.error("NEGATIVE", "a must not be negative");
                    return { total: args.a + args.b, method: "POST" };
                  },
                });
                """,
        });
        var result = await Client.CallAsync<Sum, SumResult>(name + "-typed", new Sum(2, 3));
        Assert.Equal(5, result!.Total);
        var refused = await Assert.ThrowsAsync<IsolaFunctionException>(() => Client.CallAsync<Sum, SumResult>(name + "-typed", new Sum(-1, 3)));
        Assert.Equal(400, refused.Status);
        Assert.Contains("NEGATIVE", refused.BodyText, StringComparison.Ordinal);
        var json = await Client.InvokeAsync<JsonObject>(name, new { a = 1, b = 1 });
        Assert.Equal("POST", json!["method"]!.GetValue<string>());
        Assert.Equal("plain text", await Client.InvokeAsync<string>(name, options: new InvokeOptions { Method = HttpMethod.Get, Path = "/text" }));
        Assert.Equal([0, 1, 254, 255], await Client.InvokeAsync<byte[]>(name, options: new InvokeOptions { Method = HttpMethod.Get, Path = "/bytes" }));

        var teapot = await Assert.ThrowsAsync<IsolaFunctionException>(() => Client.InvokeAsync<string>(name, options: new InvokeOptions { Method = HttpMethod.Get, Path = "/teapot" }));
        Assert.Equal(418, teapot.Status);
        Assert.Equal("short and stout", teapot.BodyText);

        var missing = await Assert.ThrowsAsync<IsolaApiException>(() => Client.InvokeAsync<string>("no-such-function"));
        Assert.Equal((404, "FUNCTION_NOT_FOUND"), (missing.Status, missing.Code));
        var raw = await Client.SendAsync("no-such-function", new InvokeOptions());
        Assert.Equal("FUNCTION_NOT_FOUND", raw.PlatformErrorCode);
    }

    [Fact]
    public async Task The_management_api_deploys_files_updates_versions_rolls_back_reads_logs_and_deletes()
    {
        var name = Unique("managed");
        var deployed = await Client.Functions.DeployAsync(name, new FunctionDeployment
        {
            Files = new Dictionary<string, byte[]>
            {
                ["index.ts"] = Encoding.UTF8.GetBytes("import { word } from \"../_shared/word.ts\";\nexport default async () => new Response(word + (await Deno.readFile(new URL(\"./data.bin\", import.meta.url))).length);"),
                ["../_shared/word.ts"] = Encoding.UTF8.GetBytes("export const word = 'bytes:';"),
                ["data.bin"] = [0, 159, 146, 150, 255], // not UTF-8: travels in the archive
            },
            Settings = new JsonObject { ["timeoutMs"] = 5000, ["envVars"] = new JsonObject { ["MODE"] = "test" } },
        });
        Assert.Equal((1, 5000), (deployed.Version, deployed.TimeoutMs));
        Assert.Equal(["MODE"], deployed.EnvVars);
        Assert.Equal("bytes:5", await Client.InvokeAsync<string>(name));

        var exists = await Assert.ThrowsAsync<IsolaApiException>(() => Client.Functions.DeployAsync(name, new FunctionDeployment { Code = "export default () => new Response()" }));
        Assert.Equal("FUNCTION_EXISTS", exists.Code);

        var config = await Client.Functions.GetConfigAsync(name);
        Assert.Contains("../_shared/word.ts", config.Files!.Keys);
        Assert.Contains(name, (await Client.Functions.ListAsync()).Select(f => f.Name));

        var updated = await Client.Functions.UpdateAsync(name, new FunctionDeployment { Code = "export default () => new Response('v2')" });
        Assert.Equal(2, updated.Version);
        Assert.Equal(5000, updated.TimeoutMs); // kept
        Assert.Equal("v2", await Client.InvokeAsync<string>(name));
        Assert.Equal(2, (await Client.Functions.VersionsAsync(name)).GetProperty("versions").GetArrayLength());
        Assert.Equal(1, (await Client.Functions.RollbackAsync(name, 1)).Version);
        Assert.Equal("VERSION_NOT_FOUND", (await Assert.ThrowsAsync<IsolaApiException>(() => Client.Functions.RollbackAsync(name, 7))).Code);

        var logged = 0;
        for (var attempt = 0; attempt < 50 && logged < 2; attempt++)
        {
            await Task.Delay(100);
            logged = (await Client.Functions.LogsAsync(name, new LogQuery { Limit = 10 })).GetProperty("invocations").GetArrayLength();
        }

        Assert.True(logged >= 2, $"{logged} invocations logged");
        Assert.True((await Client.Functions.StatsAsync(name)).GetProperty("invocations").GetInt64() >= 2);

        await Client.Functions.DeleteAsync(name);
        Assert.Equal("FUNCTION_NOT_FOUND", (await Assert.ThrowsAsync<IsolaApiException>(() => Client.Functions.GetAsync(name))).Code);
    }

    [Fact]
    public async Task Secrets_apps_database_and_another_app_through_the_same_client()
    {
        var app = Unique("capp");
        await Client.Apps.CreateAsync(app);
        var other = Client.ForApp(app);
        Assert.Equal(["A_SECRET", "B_SECRET"], await other.Secrets.SetAsync(new Dictionary<string, string> { ["B_SECRET"] = "b", ["A_SECRET"] = "a" }));
        await other.Functions.DeployAsync("reads", new FunctionDeployment { Code = "export default () => new Response(Deno.env.get('A_SECRET'))" });
        Assert.Equal("a", await other.InvokeAsync<string>("reads", options: new InvokeOptions { Method = HttpMethod.Get }));
        Assert.Equal(["B_SECRET"], await other.Secrets.UnsetAsync(["A_SECRET"]));
        Assert.Equal(["B_SECRET"], await other.Secrets.ListAsync());

        var rows = await other.Database.QueryAsync("select $1::int + 1 as answer", [41]);
        Assert.Equal(42, rows.GetProperty("rows")[0].GetProperty("answer").GetInt32());
        Assert.Contains(app, (await Client.Apps.ListAsync()).GetProperty("apps").EnumerateArray().Select(a => a.GetProperty("id").GetString()));
    }

    private static ServiceProvider Services(TestHost host)
    {
        var services = new ServiceCollection();
        services.AddIsolaClient(options =>
        {
            options.BaseUrl = host.Url;
            options.ApiKey = host.Options.AdminKey;
        });
        return services.BuildServiceProvider();
    }

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];
}
