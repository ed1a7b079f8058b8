using System.Text.Json.Serialization;

namespace Isola.Client;

/// <summary>One line a function printed, from <see cref="FunctionsApi.FollowLogsAsync"/>; <see cref="InvocationId"/> is null for its top-level code.</summary>
public sealed record ConsoleLine(
    string Function,
    int Version,
    string? InvocationId,
    string Level,
    [property: JsonPropertyName("msg")] string Message,
    [property: JsonPropertyName("ts")] DateTimeOffset Timestamp);
