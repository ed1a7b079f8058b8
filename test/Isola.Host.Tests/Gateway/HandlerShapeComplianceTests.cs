using System.Diagnostics;
using System.Net;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// One suite, every handler shape (feature H2), through all three routes (H1, H6, C3): status,
/// headers, body, streaming, path, subpath, query, errors. Fixtures: test/fixtures/functions/.
/// </summary>
public sealed class HandlerShapeComplianceTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    public static TheoryData<string> Shapes() =>
    [
        "default-function", "deno-serve", "deno-serve-options", "fetch-object", "script-handler", "node-http", "express", "hono-node",
    ];

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task Every_shape_behaves_the_same_through_every_route(string shape)
    {
        var name = "shape-" + shape;
        await fixture.DeployFixtureAsync(name, $"functions/{shape}/index.ts", new Dictionary<string, object?>
        {
            ["envVars"] = new Dictionary<string, string> { ["API_KEY"] = "k-" + shape },
            ["passAllHeaders"] = true,
        });
        var client = fixture.Host.Caller;
        var routes = new[] { $"/v1/default/fn/{name}", $"/functions/v1/{name}", $"/functions/run/{name}" };
        var visiblePrefix = new[] { $"/v1/default/fn/{name}", $"/{name}", $"/functions/run/{name}" };
        for (var r = 0; r < routes.Length; r++)
        {
            using var post = new HttpRequestMessage(HttpMethod.Post, routes[r] + "/echo?x=1&y=two")
            {
                Content = new StringContent("payload-" + r, Encoding.UTF8, "text/plain"),
            };
            post.Headers.Add("x-test", "header-value");
            var echoResponse = await client.SendAsync(post);
            var echo = await echoResponse.ShouldSucceedAsync();
            Assert.Equal(shape, echoResponse.Headers.GetValues("x-shape").Single());
            Assert.Equal("POST", echo.GetProperty("method").GetString());
            Assert.Equal(visiblePrefix[r] + "/echo", echo.GetProperty("path").GetString());
            Assert.Equal("1", echo.GetProperty("query").GetProperty("x").GetString());
            Assert.Equal("two", echo.GetProperty("query").GetProperty("y").GetString());
            Assert.Equal("header-value", echo.GetProperty("header").GetString());
            Assert.Equal("payload-" + r, echo.GetProperty("body").GetString());
            Assert.True(echoResponse.Headers.Contains("x-isola-invocation-id"));

            var teapot = await client.GetAsync(routes[r] + "/status/418");
            Assert.Equal((HttpStatusCode)418, teapot.StatusCode);
            Assert.Equal("teapot", await teapot.Content.ReadAsStringAsync());
            Assert.Equal("yes", teapot.Headers.GetValues("x-custom").Single());
            Assert.False(teapot.Headers.Contains("x-relay-error")); // a function's own error passes through untouched

            var env = await (await client.GetAsync(routes[r] + "/env")).ShouldSucceedAsync();
            Assert.Equal("k-" + shape, env.GetProperty("apiKey").GetString());

            var throwResponse = await client.GetAsync(routes[r] + "/throw");
            if (FrameworkCatchesErrors(shape))
            {
                // Express and Hono answer a throwing route with their own 500: the function's answer, passed through.
                Assert.Equal(HttpStatusCode.InternalServerError, throwResponse.StatusCode);
                Assert.False(throwResponse.Headers.Contains("x-relay-error"));
            }
            else
            {
                var thrown = await throwResponse.ShouldFailAsync(500, "FUNCTION_ERROR");
                Assert.DoesNotContain("boom", thrown.GetProperty("message").GetString()); // no stack or message leaks to the caller
                var logged = await InvocationLogs.WaitForAsync(fixture.Host, name, throwResponse.Headers.GetValues("x-isola-invocation-id").Single(), _ => true);
                Assert.Equal("boom", logged.GetProperty("error").GetProperty("message").GetString());
            }

            var missing = await client.GetAsync(routes[r] + "/nothing-here");
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.False(missing.Headers.Contains("x-relay-error"));
        }

        await AssertStreamsAsync(client, routes[0] + "/stream", shape);
    }

    private static bool FrameworkCatchesErrors(string shape) => shape is "express" or "hono-node";

    private static async Task AssertStreamsAsync(HttpClient client, string path, string shape)
    {
        var stopwatch = Stopwatch.StartNew();
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType?.ToString());
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[256];
        var first = await stream.ReadAsync(buffer);
        var firstAt = stopwatch.ElapsedMilliseconds;
        var text = new StringBuilder(Encoding.UTF8.GetString(buffer, 0, first));
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        var total = stopwatch.ElapsedMilliseconds;
        Assert.Equal(string.Concat(Enumerable.Range(0, 5).Select(i => $"data: {i}\n\n")), text.ToString());
        if (shape != "script-handler")
        {
            // Chunks ~30 ms apart: the first must arrive well before the last, not all at once at the end.
            Assert.True(total - firstAt >= 60, $"first chunk at {firstAt} ms, end at {total} ms: the response was buffered");
        }
    }
}
