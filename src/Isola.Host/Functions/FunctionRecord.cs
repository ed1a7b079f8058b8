namespace Isola.Host.Functions;

/// <summary>A function with its current version, as read from the registry tables.</summary>
internal sealed record FunctionRecord(
    Guid Id,
    string AppId,
    string Name,
    int Version,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    FunctionSettings Settings,
    IReadOnlyList<string> EnvNames,
    string ArtifactHash,
    int ArtifactSize,
    FunctionSource? Source);

/// <summary>One immutable version in a function's history.</summary>
internal sealed record FunctionVersionRecord(int Version, bool Current, DateTimeOffset CreatedAt, string ArtifactHash, int ArtifactSize, FunctionSettings Settings, IReadOnlyList<string> EnvNames);
