using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Functions;
using Isola.Host.Invocations;
using Isola.Host.Tests.Gateway;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Invocations;

/// <summary>
/// The invocation core without HTTP: what every non-HTTP trigger (cron, events, scheduled calls, realtime)
/// stands on. A payload reaches the function as its JSON body and as ctx.trigger, failures come back as
/// typed outcomes, and the record says which trigger ran it.
/// </summary>
public sealed class FunctionInvokerTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private FunctionInvoker Invoker => fixture.Host.Server.Services.GetRequiredService<FunctionInvoker>();

    private async Task<DeployedFunction> DeployAsync(string name, string code, bool alsoHttp = false)
    {
        object[] triggers = alsoHttp
            ? [new { type = "cron", config = new { schedule = "0 0 1 1 *" } }, new { type = "http" }]
            : [new { type = "cron", config = new { schedule = "0 0 1 1 *" } }];
        await (await fixture.Host.DeployAsync(new { name, code, triggers })).ShouldSucceedAsync(201);
        var registry = fixture.Host.Server.Services.GetRequiredService<DeployedFunctionCache>();
        return (await registry.FindAsync("default", name, CancellationToken.None))!;
    }

    private static JsonObject CronPayload() => new() { ["type"] = "cron", ["schedule"] = "0 0 1 1 *", ["scheduledAt"] = "2026-01-01T00:00:00Z" };

    [Fact]
    public async Task A_payload_is_the_body_and_ctx_trigger_and_the_record_says_cron()
    {
        var function = await DeployAsync("core-echo", """
            export default async (req, ctx) => Response.json({
              method: req.method, body: await req.json(), trigger: ctx.trigger, caller: ctx.auth.kind,
            });
            """);

        var outcome = await Invoker.InvokeAsync(new TriggerInvocation(function, Caller.Service(null), TriggerKind.Cron, CronPayload()), CancellationToken.None);

        Assert.False(outcome.Failed, outcome.Describe());
        var body = outcome.JsonBody()!.Value;
        Assert.Equal("POST", body.GetProperty("method").GetString());
        Assert.Equal("0 0 1 1 *", body.GetProperty("body").GetProperty("schedule").GetString());
        Assert.Equal("cron", body.GetProperty("trigger").GetProperty("type").GetString());
        Assert.Equal("2026-01-01T00:00:00Z", body.GetProperty("trigger").GetProperty("scheduledAt").GetString());
        Assert.Equal("service", body.GetProperty("caller").GetString());
        var record = await InvocationLogs.WaitForAsync(fixture.Host, "core-echo", outcome.InvocationId, _ => true);
        Assert.Equal("cron", record.GetProperty("trigger").GetString());
        Assert.Equal(JsonValueKind.Null, record.GetProperty("method").ValueKind);
        Assert.Equal(JsonValueKind.Null, record.GetProperty("path").ValueKind);
    }

    [Fact]
    public async Task The_molnos_handler_gets_the_payload_as_its_event()
    {
        var function = await DeployAsync("core-molnos", """
            function handler(event, context) {
              return { statusCode: 200, body: { type: event.type, scheduledAt: event.scheduledAt, same: context.trigger === event } };
            }
            """);

        var outcome = await Invoker.InvokeAsync(new TriggerInvocation(function, Caller.Service(null), TriggerKind.Cron, CronPayload()), CancellationToken.None);

        var body = outcome.JsonBody()!.Value;
        Assert.Equal("cron", body.GetProperty("type").GetString());
        Assert.Equal("2026-01-01T00:00:00Z", body.GetProperty("scheduledAt").GetString());
        Assert.True(body.GetProperty("same").GetBoolean());
    }

    [Theory]
    [InlineData("export default () => { throw new Error('boom'); };", 500, "FUNCTION_ERROR")]
    [InlineData("export default () => new Response('down', { status: 503 });", 503, "FUNCTION_STATUS")]
    [InlineData("function handler() { return { statusCode: 502, body: 'bad' }; }", 502, "FUNCTION_STATUS")]
    [InlineData("export default () => new Promise(() => {});", 504, "FUNCTION_TIMEOUT")]
    [InlineData("export default () => { Deno.exit(3); };", 502, "WORKER_CRASHED")]
    public async Task Failures_come_back_as_outcomes_that_say_retry(string code, int status, string errorCode)
    {
        var name = $"core-fail-{status}-{errorCode.ToLowerInvariant().Replace('_', '-')}";
        var function = await DeployAsync(name, code);
        var shortDeadline = DateTimeOffset.UtcNow.AddSeconds(2);

        var outcome = await Invoker.InvokeAsync(new TriggerInvocation(function, Caller.Service(null), TriggerKind.Event, new JsonObject { ["type"] = "event" }, shortDeadline),
            CancellationToken.None);

        Assert.True(outcome.Failed);
        Assert.Equal(status, outcome.Status);
        Assert.Equal(errorCode, outcome.ErrorCode);
        var record = await InvocationLogs.WaitForAsync(fixture.Host, name, outcome.InvocationId, _ => true);
        Assert.Equal("event", record.GetProperty("trigger").GetString());
        Assert.Equal(errorCode, record.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task An_http_invocation_sees_an_http_trigger_and_is_recorded_as_http()
    {
        await DeployAsync("core-http", "export default (req, ctx) => Response.json(ctx.trigger);", alsoHttp: true);

        var response = await fixture.Host.Client.GetAsync("/v1/default/fn/core-http");

        var body = await response.ShouldSucceedAsync();
        Assert.Equal("http", body.GetProperty("type").GetString());
        var id = response.Headers.GetValues("x-isola-invocation-id").Single();
        var record = await InvocationLogs.WaitForAsync(fixture.Host, "core-http", id, _ => true);
        Assert.Equal("http", record.GetProperty("trigger").GetString());
        Assert.Equal("GET", record.GetProperty("method").GetString());
    }
}
