using System.Net;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Gateway;

/// <summary>H9: each limit from inside a real function, and the host keeps serving after each.</summary>
public sealed class LimitTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task A_function_past_its_timeout_is_504_and_its_worker_survives_when_it_still_answers()
    {
        await fixture.DeployFixtureAsync("slow", "gateway/limits/index.ts", new Dictionary<string, object?> { ["timeoutMs"] = 300 });
        var error = await (await Host.Caller.GetAsync("/v1/default/fn/slow/sleep?ms=3000")).ShouldFailAsync(504, "FUNCTION_TIMEOUT");
        Assert.Contains("300 ms", error.GetProperty("message").GetString());
        var worker = Assert.Single(Supervisor.WorkersOf(await FunctionIdAsync("slow")));
        Assert.True(worker.IsAlive); // an awaiting handler does not block the worker: it is kept
        Assert.Equal("slept 10", await (await Host.Caller.GetAsync("/v1/default/fn/slow/sleep?ms=10")).Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_busy_loop_past_the_timeout_gets_its_worker_killed_and_replaced()
    {
        await fixture.DeployFixtureAsync("spin", "gateway/limits/index.ts", new Dictionary<string, object?> { ["timeoutMs"] = 300 });
        // The deadline counts from the gateway, cold start included: on a loaded machine the first call may
        // time out while its worker still starts and joins the pool, so warm it with a few tries.
        var warm = HttpStatusCode.GatewayTimeout;
        for (var i = 0; i < 10 && warm != HttpStatusCode.OK; i++)
        {
            warm = (await Host.Caller.GetAsync("/v1/default/fn/spin/")).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, warm);
        // A warm-up call that timed out may have left a second worker: the busy call lands on one of them.
        var workers = Supervisor.WorkersOf(await FunctionIdAsync("spin"));
        Assert.NotEmpty(workers);

        await (await Host.Caller.GetAsync("/v1/default/fn/spin/busy?ms=60000")).ShouldFailAsync(504, "FUNCTION_TIMEOUT");
        var ended = await Task.WhenAny(workers.Select(w => w.Exited)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WorkerExitKind.KilledUnresponsive, (await ended).Kind);
        var first = workers.Single(w => !w.IsAlive);

        // The replacement starts cold, inside the same 300 ms deadline: a few tries on a loaded machine.
        var after = HttpStatusCode.GatewayTimeout;
        for (var i = 0; i < 10 && after != HttpStatusCode.OK; i++)
        {
            after = (await Host.Caller.GetAsync("/v1/default/fn/spin/")).StatusCode;
        }

        Assert.Equal(HttpStatusCode.OK, after);
        Assert.DoesNotContain(Supervisor.WorkersOf(await FunctionIdAsync("spin")), w => w.Id == first.Id);
    }

    [Fact]
    public async Task Exceeding_the_memory_limit_is_546_WORKER_LIMIT()
    {
        await fixture.DeployFixtureAsync("hungry", "gateway/limits/index.ts", new Dictionary<string, object?> { ["memoryLimitMb"] = 64, ["timeoutMs"] = 60000 });
        var error = await (await Host.Caller.GetAsync("/v1/default/fn/hungry/memory")).ShouldFailAsync(546, "WORKER_LIMIT");
        Assert.Contains("64 MB", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Host.Caller.GetAsync("/v1/default/fn/hungry/")).StatusCode);
    }

    [Fact]
    public async Task An_uncaught_exception_is_500_with_the_stack_in_the_log_not_the_response()
    {
        await fixture.DeployFixtureAsync("thrower", "gateway/limits/index.ts");
        var response = await Host.Caller.GetAsync("/v1/default/fn/thrower/throw");
        var error = await response.ShouldFailAsync(500, "FUNCTION_ERROR");
        var text = error.ToString();
        Assert.DoesNotContain("failed on purpose", text);
        Assert.DoesNotContain("index.ts", text);
        var invocationId = response.Headers.GetValues("x-isola-invocation-id").Single();
        Assert.Equal(invocationId, error.GetProperty("invocationId").GetString());

        var logged = await InvocationLogs.WaitForAsync(Host, "thrower", invocationId, _ => true);
        Assert.Equal(500, logged.GetProperty("status").GetInt32());
        Assert.Equal("FUNCTION_ERROR", logged.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("limits fixture failed on purpose", logged.GetProperty("error").GetProperty("message").GetString());
        Assert.Contains("at ", logged.GetProperty("error").GetProperty("stack").GetString());
    }

    [Fact]
    public async Task A_worker_that_exits_is_502_and_the_next_call_gets_a_new_one()
    {
        await fixture.DeployFixtureAsync("quitter", "gateway/limits/index.ts");
        var error = await (await Host.Caller.GetAsync("/v1/default/fn/quitter/exit")).ShouldFailAsync(502, "WORKER_CRASHED");
        Assert.Contains("exited unexpectedly", error.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.OK, (await Host.Caller.GetAsync("/v1/default/fn/quitter/")).StatusCode);
    }

    [Fact]
    public async Task Request_bodies_over_the_limit_are_413_and_large_ones_under_it_stream_through()
    {
        await fixture.DeployFixtureAsync("upload", "gateway/limits/index.ts");
        var declared = new ByteArrayContent(new byte[GatewayFixture.BodyLimit + 1]);
        await (await Host.Caller.PostAsync("/v1/default/fn/upload/upload", declared)).ShouldFailAsync(413, "PAYLOAD_TOO_LARGE");

        // Chunked, no Content-Length: the limit is enforced while streaming.
        var chunked = new StreamContent(new MemoryStream(new byte[GatewayFixture.BodyLimit + 4096]));
        chunked.Headers.ContentLength = null;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/default/fn/upload/upload") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var streamed = await Host.Caller.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, streamed.StatusCode);

        var fits = await (await Host.Caller.PostAsync("/v1/default/fn/upload/upload", new ByteArrayContent(new byte[GatewayFixture.BodyLimit - 1]))).ShouldSucceedAsync();
        Assert.Equal(GatewayFixture.BodyLimit - 1, fits.GetProperty("bytes").GetInt64());
    }

    [Fact]
    public async Task An_upload_larger_than_the_workers_memory_limit_streams_through()
    {
        await using var host = await TestHost.StartAsync();
        await (await host.DeployAsync(new { name = "big-upload", code = TestEnvironment.Fixture("gateway/limits/index.ts"), memoryLimitMb = 64, timeoutMs = 120000 }))
            .ShouldSucceedAsync(201);
        const long size = 96L * 1024 * 1024; // 1.5 × the worker's 64 MB heap, never held whole anywhere
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/default/fn/big-upload/upload") { Content = new StreamContent(new ZeroStream(size)) };
        request.Content.Headers.ContentLength = size;
        var counted = await (await host.Caller.SendAsync(request)).ShouldSucceedAsync();
        Assert.Equal(size, counted.GetProperty("bytes").GetInt64());
    }

    /// <summary>A stream of zeros of a given length, produced as it is read.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            Array.Clear(buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    private WorkerSupervisor Supervisor => Host.Server.Services.GetRequiredService<WorkerSupervisor>();

    private async Task<Guid> FunctionIdAsync(string name) =>
        Guid.Parse((await (await Host.Client.GetAsync($"/v1/default/functions/{name}")).ShouldSucceedAsync()).GetProperty("id").GetString()!);
}
