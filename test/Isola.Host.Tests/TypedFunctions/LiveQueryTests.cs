using System.Text.Json;
using Isola.Host.Realtime.LiveQueries;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Tests.Triggers;
using Microsoft.Extensions.DependencyInjection;

namespace Isola.Host.Tests.TypedFunctions;

/// <summary>
/// Live queries (R5) over the realtime socket: the first result, a new one after a commit (on another node, by another
/// user) changes what the query read, none when the value is the same, none after unsubscribe, one run for identical
/// subscriptions.
/// </summary>
[Collection(TypedCollection.Name)]
public sealed class LiveQueryTests(TypedFixture fixture)
{
    private TestHost Host => fixture.Host;

    private LiveQueryRegistry Registry => Host.Server.Services.GetRequiredService<LiveQueryRegistry>();

    [Fact]
    public async Task The_first_result_then_a_new_one_after_another_users_mutation_through_another_node()
    {
        var room = await fixture.NewRoomAsync();
        await using var a = await RealtimeClient.ConnectAsync(Host.Url, await fixture.TokenAsync(fixture.UserA));
        await a.SendAsync(new { type = "subscribe", id = "s1", fn = "listMessages", args = new { roomId = room } });
        var first = await a.ReceiveAsync();
        Assert.Equal("result", first.GetProperty("type").GetString());
        Assert.Equal("s1", first.GetProperty("id").GetString());
        Assert.Empty(first.GetProperty("value").EnumerateArray());

        var options = TestHost.NewOptions(Host.ConnectionString) with { MasterKey = Host.Options.MasterKey, AdminKey = Host.Options.AdminKey };
        await using var second = await TestHost.StartAsync(options, ownsDataDir: true);
        using var b = await fixture.UserAsync(second.Url, fixture.UserB);
        await (await TypedFixture.CallAsync(b, "createMessage", new { roomId = room, body = "from B, via node 2" })).ShouldSucceedAsync();

        var update = await a.ReceiveAsync();
        Assert.Equal("result", update.GetProperty("type").GetString());
        Assert.Equal("s1", update.GetProperty("id").GetString());
        var message = Assert.Single(update.GetProperty("value").EnumerateArray());
        Assert.Equal("from B, via node 2", message.GetProperty("body").GetString());
        Assert.Equal(fixture.UserB, message.GetProperty("authorId").GetString());
    }

    [Fact]
    public async Task A_commit_that_leaves_the_value_as_it_was_pushes_nothing()
    {
        var watched = await fixture.NewRoomAsync();
        var other = await fixture.NewRoomAsync();
        using var user = await fixture.UserAsync(fixture.UserA);
        await using var client = await RealtimeClient.ConnectAsync(Host.Url, await fixture.TokenAsync(fixture.UserA));
        await client.SendAsync(new { type = "subscribe", id = 7, fn = "listMessages", args = new { roomId = watched } });
        Assert.Empty((await client.ReceiveAsync()).GetProperty("value").EnumerateArray());

        // The same table changes, but not the watched room: the query runs again and finds the same value.
        var runs = Registry.Runs;
        await (await TypedFixture.CallAsync(user, "createMessage", new { roomId = other, body = "elsewhere" })).ShouldSucceedAsync();
        await EventuallyAsync(() => Registry.Runs > runs);

        await (await TypedFixture.CallAsync(user, "createMessage", new { roomId = watched, body = "here" })).ShouldSucceedAsync();
        var next = await client.ReceiveAsync(); // had the unchanged value been pushed, it would be this frame
        Assert.Equal(7, next.GetProperty("id").GetInt32());
        Assert.Equal("here", Assert.Single(next.GetProperty("value").EnumerateArray()).GetProperty("body").GetString());
    }

    [Fact]
    public async Task After_unsubscribe_nothing_more_arrives_for_that_id()
    {
        var room = await fixture.NewRoomAsync();
        using var user = await fixture.UserAsync(fixture.UserA);
        await using var client = await RealtimeClient.ConnectAsync(Host.Url, await fixture.TokenAsync(fixture.UserA));
        await client.SendAsync(new { type = "subscribe", id = "gone", fn = "listMessages", args = new { roomId = room } });
        Assert.Equal("gone", (await client.ReceiveAsync()).GetProperty("id").GetString());
        await client.SendAsync(new { type = "subscribe", id = "kept", fn = "listMessages", args = new { roomId = room } });
        Assert.Equal("kept", (await client.ReceiveAsync()).GetProperty("id").GetString());

        await client.SendAsync(new { type = "unsubscribe", id = "gone" });
        var ack = await client.ReceiveAsync();
        Assert.Equal("unsubscribed", ack.GetProperty("type").GetString());
        Assert.Equal("gone", ack.GetProperty("id").GetString());

        await (await TypedFixture.CallAsync(user, "createMessage", new { roomId = room, body = "after" })).ShouldSucceedAsync();
        // "gone" subscribed first, so its result would come first: the next frame is "kept"'s.
        var next = await client.ReceiveAsync();
        Assert.Equal("kept", next.GetProperty("id").GetString());
        Assert.Equal("after", Assert.Single(next.GetProperty("value").EnumerateArray()).GetProperty("body").GetString());
    }

    [Fact]
    public async Task Identical_subscriptions_share_one_group_and_each_gets_the_update()
    {
        var room = await fixture.NewRoomAsync();
        var token = await fixture.TokenAsync(fixture.UserA);
        await using var one = await RealtimeClient.ConnectAsync(Host.Url, token);
        await using var two = await RealtimeClient.ConnectAsync(Host.Url, await fixture.TokenAsync(fixture.UserA)); // another token of the same user
        var groups = Registry.GroupCount;
        await one.SendAsync(new { type = "subscribe", id = "q", fn = "listMessages", args = new { roomId = room } });
        await one.ReceiveAsync();
        await two.SendAsync(new { type = "subscribe", id = "q", fn = "listMessages", args = new { roomId = room } });
        await two.ReceiveAsync();
        Assert.Equal(groups + 1, Registry.GroupCount);

        using var user = await fixture.UserAsync(fixture.UserB);
        await (await TypedFixture.CallAsync(user, "createMessage", new { roomId = room, body = "to both" })).ShouldSucceedAsync();
        foreach (var client in new[] { one, two })
        {
            Assert.Equal("to both", Assert.Single((await client.ReceiveAsync()).GetProperty("value").EnumerateArray()).GetProperty("body").GetString());
        }
    }

    [Fact]
    public async Task A_subscription_that_cannot_be_served_gets_an_error_frame_naming_why()
    {
        await using var guest = await RealtimeClient.ConnectAsync(Host.Url, Host.AnonKey);
        var room = fixture.RoomId;
        var cases = new (object Message, string Code, string Mentions)[]
        {
            (new { type = "subscribe", id = "m", fn = "createMessage", args = new { roomId = room, body = "x" } }, "INVALID_REQUEST", "only a query"),
            (new { type = "subscribe", id = "n", fn = "no-such-query" }, "FUNCTION_NOT_FOUND", "no-such-query"),
            (new { type = "subscribe", id = "u", fn = "listMessages", args = new { roomId = room } }, "AUTH_REQUIRED", "signed-in user"),
            (new { type = "subscribe", id = "b", fn = "listMessages", args = new { roomId = 5.5 } }, "INVALID_ARGS", "roomId"),
        };
        await using var user = await RealtimeClient.ConnectAsync(Host.Url, await fixture.TokenAsync(fixture.UserA));
        foreach (var (message, code, mentions) in cases)
        {
            var client = code == "INVALID_ARGS" ? user : guest;
            await client.SendAsync(message);
            var frame = await client.ReceiveAsync();
            Assert.Equal("error", frame.GetProperty("type").GetString());
            Assert.Equal(code, frame.GetProperty("error").GetProperty("code").GetString());
            Assert.Contains(mentions, frame.GetProperty("error").GetProperty("message").GetString());
        }
    }

    private static async Task EventuallyAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 20 s");
            await Task.Delay(20);
        }
    }
}
