using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text.Json;
using Isola.Host.Functions;
using Isola.Host.Realtime;
using Isola.Host.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.Triggers;

/// <summary>
/// Realtime WebSocket (T4) end to end: real Kestrel, real workers, real <see cref="ClientWebSocket"/>s, and for the
/// cross-node case a second node on the same database.
/// </summary>
public sealed class RealtimeTests(RealtimeFixture fixture) : IClassFixture<RealtimeFixture>
{
    private TestHost Host => fixture.Host;

    [Fact]
    public async Task A_reply_reaches_only_its_sender_with_the_senders_identity()
    {
        await using var a = await RealtimeClient.ConnectAsync(Host.Url, await fixture.UserTokenAsync(fixture.UserA));
        await using var b = await RealtimeClient.ConnectAsync(Host.Url, await fixture.UserTokenAsync(fixture.UserB), tokenInQuery: true);

        var reply = await a.AskAsync("a-1", new { @event = "whoami", data = new { n = 1 } });
        Assert.Equal("whoami", reply.GetProperty("event").GetString());
        var seen = reply.GetProperty("data");
        Assert.Equal(fixture.UserA, seen.GetProperty("userId").GetString());
        Assert.Equal("user", seen.GetProperty("kind").GetString());
        var trigger = seen.GetProperty("trigger");
        Assert.Equal("websocket", trigger.GetProperty("type").GetString());
        Assert.Equal("whoami", trigger.GetProperty("event").GetString());
        Assert.Equal(1, trigger.GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(a.ConnectionId, trigger.GetProperty("connectionId").GetString());
        Assert.Equal(trigger.GetRawText(), seen.GetProperty("body").GetRawText());

        // a's reply was delivered before b asked; b's next frame is its own answer, so a's never reached b.
        var other = await b.AskAsync("b-1", new { @event = "whoami" });
        Assert.Equal(fixture.UserB, other.GetProperty("data").GetProperty("userId").GetString());
        Assert.Equal(b.ConnectionId, other.GetProperty("data").GetProperty("trigger").GetProperty("connectionId").GetString());
        Assert.Equal(JsonValueKind.Null, other.GetProperty("data").GetProperty("trigger").GetProperty("data").ValueKind);
    }

    [Fact]
    public async Task A_missing_or_bad_token_is_refused_at_the_handshake()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await RealtimeClient.RefusedAsync(Host.Url, "default", null));
        Assert.Equal(HttpStatusCode.Unauthorized, await RealtimeClient.RefusedAsync(Host.Url, "default", null, ("Authorization", "Bearer not-a-token")));
        Assert.Equal(HttpStatusCode.Unauthorized, await RealtimeClient.RefusedAsync(Host.Url, "default", "access_token=" + Host.AnonKey[..^4] + "AAAA"));
        Assert.Equal(HttpStatusCode.Unauthorized, await RealtimeClient.RefusedAsync(Host.Url, "default", "apikey=isola_sk_unknown"));
        Assert.Equal(HttpStatusCode.NotFound, await RealtimeClient.RefusedAsync(Host.Url, "no-such-app", "apikey=" + Host.AnonKey));

        // A plain request gets the error contract saying what the endpoint is.
        var plain = await Host.Caller.GetAsync("/v1/default/realtime");
        Assert.Contains("WebSocket", (await plain.ShouldFailAsync(400, "INVALID_REQUEST")).GetProperty("message").GetString());

        // The anon key in the query, as a browser sends it, is enough to connect.
        await using var guest = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey, tokenInQuery: true);
        Assert.Equal(32, guest.ConnectionId.Length);
    }

    [Fact]
    public async Task With_the_apps_key_and_a_users_token_in_the_query_the_caller_is_the_user()
    {
        var token = await fixture.UserTokenAsync(fixture.UserA);
        await using var user = await RealtimeClient.ConnectWithQueryAsync(Host.Url, $"apikey={Uri.EscapeDataString(Host.AnonKey)}&access_token={Uri.EscapeDataString(token)}");
        var seen = (await user.AskAsync("q-1", new { @event = "whoami" })).GetProperty("data");
        Assert.Equal("user", seen.GetProperty("kind").GetString());
        Assert.Equal(fixture.UserA, seen.GetProperty("userId").GetString());
    }

    [Fact]
    public async Task Each_functions_own_access_settings_apply_to_each_message()
    {
        await using var guest = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        var refused = await guest.AskAsync("g-1", new { @event = "members" });
        Assert.Equal("AUTH_REQUIRED", refused.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("members", refused.GetProperty("error").GetProperty("message").GetString());

        // The guest may still use what its key allows, on the same connection.
        Assert.Equal("anon", (await guest.AskAsync("g-2", new { @event = "whoami" })).GetProperty("data").GetProperty("kind").GetString());

        await using var user = await RealtimeClient.ConnectAsync(Host.Url, await fixture.UserTokenAsync(fixture.UserA));
        Assert.Equal(fixture.UserA, (await user.AskAsync("u-1", new { @event = "members" })).GetProperty("data").GetProperty("userId").GetString());

        // A platform API key connects as the service.
        await using var service = await RealtimeClient.ConnectAsync(Host.Url, Host.Options.AdminKey!);
        Assert.Equal("service", (await service.AskAsync("s-1", new { @event = "members" })).GetProperty("data").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Messages_nothing_handles_or_that_are_malformed_get_an_error_reply_naming_the_problem()
    {
        await using var client = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        var unhandled = await client.AskAsync("x-1", new { @event = "nobody-listens", data = 1 });
        Assert.Equal("NO_HANDLER", unhandled.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("'nobody-listens'", unhandled.GetProperty("error").GetProperty("message").GetString());

        var unknownField = await client.AskAsync("x-2", new { @event = "whoami", payload = 1 });
        Assert.Equal("INVALID_REQUEST", unknownField.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("'payload'", unknownField.GetProperty("error").GetProperty("message").GetString());

        var badType = await client.AskAsync("x-3", new { type = "join", channel = "room" });
        Assert.Contains("type must be", badType.GetProperty("error").GetProperty("message").GetString());

        await client.SendTextAsync("not json");
        var notJson = await client.ReceiveAsync();
        Assert.Equal(JsonValueKind.Null, notJson.GetProperty("replyTo").ValueKind);
        Assert.Equal("INVALID_REQUEST", notJson.GetProperty("error").GetProperty("code").GetString());

        // A function that throws: as over HTTP, the sender learns where to look, not what it threw; the connection goes on.
        var thrown = (await client.AskAsync("x-4", new { @event = "boom" })).GetProperty("error");
        Assert.Equal("FUNCTION_ERROR", thrown.GetProperty("code").GetString());
        Assert.Contains("invocation log", thrown.GetProperty("message").GetString());
        Assert.DoesNotContain("boom from relay", thrown.GetProperty("message").GetString());
        Assert.Equal("v1", (await client.AskAsync("x-5", new { @event = "whoami" })).GetProperty("data").GetProperty("version").GetString());
    }

    [Fact]
    public async Task Broadcast_reaches_the_channels_subscribers_and_send_one_connection_in_every_shape()
    {
        await using var listener = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        await using var speaker = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        var subscribed = await listener.AskAsync("sub-1", new { type = "subscribe", channel = "room:1" });
        Assert.Equal("subscribed", subscribed.GetProperty("type").GetString());
        Assert.Equal("room:1", subscribed.GetProperty("channel").GetString());

        Assert.Equal("shout", (await speaker.AskAsync("sp-1", new { @event = "shout", data = new { channel = "room:1", message = new { text = "hi all" } } }))
            .GetProperty("data").GetProperty("done").GetString());
        var broadcast = await listener.ReceiveAsync();
        Assert.Equal("broadcast", broadcast.GetProperty("type").GetString());
        Assert.Equal("room:1", broadcast.GetProperty("channel").GetString());
        Assert.Equal("hi all", broadcast.GetProperty("data").GetProperty("text").GetString());

        await speaker.AskAsync("sp-2", new { @event = "tell", data = new { to = listener.ConnectionId, message = "just you" } });
        var message = await listener.ReceiveAsync();
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("just you", message.GetProperty("data").GetString());

        // Unsubscribed, the next broadcast passes it by: its next frame is the answer to its own question.
        Assert.Equal("unsubscribed", (await listener.AskAsync("sub-2", new { type = "unsubscribe", channel = "room:1" })).GetProperty("type").GetString());
        await speaker.AskAsync("sp-3", new { @event = "shout", data = new { channel = "room:1", message = "gone" } });
        Assert.Equal("whoami", (await listener.AskAsync("l-1", new { @event = "whoami" })).GetProperty("event").GetString());

        // MolnOS handler(event, context): the payload is the event; context.realtime pushes before the reply.
        await listener.SendAsync(new { @event = "molnos", data = new { x = 1 }, id = "m-1" });
        var pushed = await listener.ReceiveAsync();
        Assert.Equal("message", pushed.GetProperty("type").GetString());
        Assert.Equal("molnos", pushed.GetProperty("data").GetProperty("from").GetString());
        var reply = await listener.ReceiveAsync();
        Assert.Equal("m-1", reply.GetProperty("replyTo").GetString());
        Assert.Equal("websocket", reply.GetProperty("data").GetProperty("type").GetString());
        Assert.Equal(1, reply.GetProperty("data").GetProperty("data").GetProperty("x").GetInt32());
        Assert.Equal("anon", reply.GetProperty("data").GetProperty("kind").GetString());
    }

    [Fact]
    public async Task A_broadcast_and_a_send_cross_nodes_on_one_database()
    {
        var options = TestHost.NewOptions(Host.ConnectionString) with
        {
            MasterKey = Host.Options.MasterKey,
            AdminKey = Host.Options.AdminKey,
            Realtime = RealtimeFixture.Limits,
        };
        await using var second = await TestHost.StartAsync(options, ownsDataDir: true);
        await using var there = await RealtimeClient.ConnectAsync(second.Url, await fixture.UserTokenAsync(fixture.UserB));
        await using var here = await RealtimeClient.ConnectAsync(Host.Url, await fixture.UserTokenAsync(fixture.UserA));
        await there.AskAsync("t-1", new { type = "subscribe", channel = "lobby" });

        // A small frame rides in the NOTIFY; one past its 8000-byte limit goes through isola.realtime_frames.
        var big = new string('b', 20_000);
        foreach (var text in new[] { "small", big })
        {
            await here.AskAsync("h-" + text.Length, new { @event = "shout", data = new { channel = "lobby", message = text } });
            var broadcast = await there.ReceiveAsync();
            Assert.Equal("lobby", broadcast.GetProperty("channel").GetString());
            Assert.Equal(text, broadcast.GetProperty("data").GetString());
        }

        await using (var db = await Host.OpenDatabaseAsync())
        await using (var stored = new Npgsql.NpgsqlCommand("select count(*) from isola.realtime_frames where length(frame) > 20000", db))
        {
            Assert.True((long)(await stored.ExecuteScalarAsync())! >= 1, "the big frame did not go through isola.realtime_frames");
        }

        await here.AskAsync("h-tell", new { @event = "tell", data = new { to = there.ConnectionId, message = "across" } });
        var message = await there.ReceiveAsync();
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("across", message.GetProperty("data").GetString());

        // A node that stops closes its clients with 1001, so they reconnect (to another node).
        var closing = there.ReceiveCloseAsync();
        await second.DisposeAsync();
        var (status, reason, _) = await closing;
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, status);
        Assert.Contains("node is stopping", reason);
    }

    [Fact]
    public async Task An_oversized_message_closes_the_socket_with_1009_and_says_why()
    {
        await using var client = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        await client.SendAsync(new { @event = "whoami", data = new string('x', RealtimeFixture.Limits.MaxMessageBytes + 1) });
        var (status, reason, _) = await client.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, status);
        Assert.Equal($"message over the limit of {RealtimeFixture.Limits.MaxMessageBytes} bytes", reason);
    }

    [Fact]
    public async Task A_redeploy_of_the_function_keeps_the_connection_and_the_next_message_runs_the_new_version()
    {
        await (await Host.DeployAsync(new { name = "versioned", code = TestEnvironment.Fixture("realtime/whoami/index.ts"), trigger = RealtimeFixture.WebSocket("versioned") }))
            .ShouldSucceedAsync(201);
        await using var client = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        Assert.Equal("v1", (await client.AskAsync("r-1", new { @event = "versioned" })).GetProperty("data").GetProperty("version").GetString());

        var code = TestEnvironment.Fixture("realtime/whoami/index.ts").Replace("version: \"v1\"", "version: \"v2\"", StringComparison.Ordinal);
        await (await Host.Client.PutAsJsonAsync("/v1/default/functions/versioned", new { code })).ShouldSucceedAsync();
        var registry = Host.Server.Services.GetRequiredService<DeployedFunctionCache>();
        await Eventually(async () => (await registry.FindAsync("default", "versioned", CancellationToken.None))?.Version == 2);

        Assert.Equal("v2", (await client.AskAsync("r-2", new { @event = "versioned" })).GetProperty("data").GetProperty("version").GetString());
        Assert.Equal(WebSocketState.Open, client.State);
    }

    [Fact]
    public async Task A_client_that_does_not_read_is_closed_with_1013_instead_of_buffered()
    {
        await using var slow = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        // Far more than the socket buffers and the 256 KiB queue hold, while the client reads nothing.
        var flood = await Host.Caller.PostAsJsonAsync("/v1/default/fn/relay/flood", new { to = slow.ConnectionId, count = 400, size = 60_000 });
        await flood.EnsureSuccessOrExplainAsync();

        var (status, reason, framesBefore) = await slow.ReceiveCloseAsync();
        Assert.Equal((WebSocketCloseStatus)1013, status);
        Assert.Contains("too slow", reason);
        Assert.True(framesBefore < 400, $"all {framesBefore} frames arrived: nothing was dropped");
    }

    [Fact]
    public async Task Messages_past_the_rate_limit_get_RATE_LIMITED_replies_and_the_connection_stays()
    {
        await using var client = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        var burst = RealtimeFixture.Limits.MessageBurst;
        for (var i = 0; i < burst + 10; i++)
        {
            await client.SendAsync(new { type = "subscribe", channel = "rate-" + i, id = i });
        }

        var codes = new List<string>();
        for (var i = 0; i < burst + 10; i++)
        {
            var frame = await client.ReceiveAsync();
            Assert.Equal(i, frame.GetProperty("replyTo").GetInt32());
            codes.Add(frame.TryGetProperty("error", out var error) ? error.GetProperty("code").GetString()! : frame.GetProperty("type").GetString()!);
        }

        Assert.All(codes.Take(burst), code => Assert.Equal("subscribed", code));
        Assert.Contains("RATE_LIMITED", codes.Skip(burst));
        Assert.Equal(WebSocketState.Open, client.State);
    }

    [Fact]
    public async Task A_connection_ends_when_its_users_token_expires()
    {
        await using var client = await RealtimeClient.ConnectAsync(Host.Url, await fixture.UserTokenAsync(fixture.UserA, seconds: 3));
        var (status, reason, _) = await client.ReceiveCloseAsync();
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.Contains("token expired", reason);
    }

    [Fact]
    public async Task Pushes_past_their_limit_fail_in_the_function_with_a_clear_error()
    {
        var tooBig = (await (await Host.Caller.PostAsJsonAsync("/v1/default/fn/relay/shout",
            new { channel = "any", message = new string('x', new RealtimeOptions().MaxPushBytes) })).ShouldSucceedAsync()).GetProperty("refused");
        Assert.Equal("PAYLOAD_TOO_LARGE", tooBig.GetProperty("code").GetString());
        Assert.Contains($"the limit is {new RealtimeOptions().MaxPushBytes}", tooBig.GetProperty("message").GetString());

        var badId = (await (await Host.Caller.PostAsJsonAsync("/v1/default/fn/relay/tell", new { to = "not-an-id", message = 1 })).ShouldSucceedAsync()).GetProperty("refused");
        Assert.Equal("INVALID_ARGS", badId.GetProperty("code").GetString());
        Assert.Contains("32 hex characters", badId.GetProperty("message").GetString());

        var badChannel = (await (await Host.Caller.PostAsJsonAsync("/v1/default/fn/relay/shout", new { channel = "no spaces", message = 1 })).ShouldSucceedAsync()).GetProperty("refused");
        Assert.Equal("INVALID_ARGS", badChannel.GetProperty("code").GetString());
    }

    private static async Task Eventually(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 20 s");
            await Task.Delay(50);
        }
    }
}
