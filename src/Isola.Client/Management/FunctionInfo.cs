using System.Text.Json;
using System.Text.Json.Serialization;

namespace Isola.Client;

/// <summary>
/// A function as the API describes it (docs/functions-api.md): the common fields typed, every other one kept in
/// <see cref="Extra"/> so nothing is lost when it is written back out.
/// </summary>
public sealed record FunctionInfo
{
    public string Id { get; init; } = "";

    public string Name { get; init; } = "";

    public string App { get; init; } = "";

    /// <summary>The URL that calls it over HTTP; null without an http trigger.</summary>
    public string? Endpoint { get; init; }

    public int Version { get; init; }

    public string? Description { get; init; }

    public int TimeoutMs { get; init; }

    public int MemoryLimitMb { get; init; }

    /// <summary>Allowed HTTP methods; null allows all.</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>Names of its env vars; values never come back.</summary>
    public IReadOnlyList<string> EnvVars { get; init; } = [];

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The source of a single-file function (only from <see cref="FunctionsApi.GetConfigAsync"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Code { get; init; }

    /// <summary>Text files of a multi-file function, path → content (only from <see cref="FunctionsApi.GetConfigAsync"/>).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Files { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Entrypoint { get; init; }

    /// <summary>A typed function's kind (<c>query</c>, <c>mutation</c>, <c>action</c>), argument schema and <c>returns</c> schema (null without one); null for any other function.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Typed { get; init; }

    /// <summary>Triggers, access, limits, bindings and the rest, as JSON.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement> Extra { get; init; } = [];
}
