using System.Text.Json.Nodes;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.TypedFunctions;

/// <summary>Argument validators (R2): one bad value per validator, each refused with 400 INVALID_ARGS naming the argument, before the handler runs.</summary>
[Collection(TypedCollection.Name)]
public sealed class ValidatorTests(TypedFixture fixture)
{
    private static JsonObject Good() => new()
    {
        ["text"] = "hi",
        ["count"] = 3,
        ["ratio"] = 0.5,
        ["done"] = false,
        ["due"] = "2026-12-02T09:00:00Z",
        ["roomId"] = "7c9e6679-7425-40de-944b-e07fc1f90ae7",
        ["note"] = "optional",
        ["tags"] = new JsonArray("a", "b"),
        ["status"] = "open",
        ["owner"] = new JsonObject { ["name"] = "Ada", ["age"] = 36 },
        ["key"] = 7,
        ["extra"] = new JsonObject { ["anything"] = new JsonArray(1, "x", null) },
    };

    [Fact]
    public async Task Good_arguments_reach_the_handler_unchanged()
    {
        var args = Good();
        var echoed = await (await TypedFixture.CallAsync(fixture.Host.Anonymous, "everyValidator", args)).ShouldSucceedAsync();
        Assert.True(JsonNode.DeepEquals(args, JsonNode.Parse(echoed.GetRawText())), echoed.GetRawText());

        args.Remove("note"); // optional: may be left out
        await (await TypedFixture.CallAsync(fixture.Host.Anonymous, "everyValidator", args)).ShouldSucceedAsync();
    }

    [Theory]
    [InlineData("text", "42", "text: expected string, got number")]
    [InlineData("count", "1.5", "count: expected an integer, got 1.5")]
    [InlineData("count", "\"3\"", "count: expected an integer, got string")]
    [InlineData("ratio", "\"half\"", "ratio: expected number, got string")]
    [InlineData("done", "\"yes\"", "done: expected boolean, got string")]
    [InlineData("due", "\"next tuesday\"", "due: expected an ISO 8601 date-time")]
    [InlineData("roomId", "\"\"", "roomId: expected an id of Room (a non-empty string), got string")]
    [InlineData("note", "null", "note: expected string, got null")]
    [InlineData("tags", "[\"a\", 2]", "tags[1]: expected string, got number")]
    [InlineData("status", "\"pending\"", "status: expected \"open\" or \"closed\", got \"pending\"")]
    [InlineData("owner", "{\"name\": \"Ada\", \"age\": \"old\"}", "owner.age: expected an integer, got string")]
    [InlineData("key", "true", "key: expected string or an integer, got boolean")]
    [InlineData("extra", null, "extra: expected a value, got nothing")]
    [InlineData("unknown", "1", "unknown: unknown argument (expected: text, count")]
    public async Task Each_bad_value_is_INVALID_ARGS_naming_its_path(string field, string? json, string message)
    {
        var args = Good();
        if (json is null)
        {
            args.Remove(field);
        }
        else
        {
            args[field] = JsonNode.Parse(json);
        }

        var error = await (await TypedFixture.CallAsync(fixture.Host.Anonymous, "everyValidator", args)).ShouldFailAsync(400, "INVALID_ARGS");

        Assert.StartsWith(message, error.GetProperty("message").GetString());
        Assert.Equal(message.Split(':')[0], error.GetProperty("field").GetString());
    }
}
