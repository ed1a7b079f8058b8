

namespace Isola.Host.Functions;

/// <summary>What the gateway needs to run a function: its current version's settings, artifact and sealed env.</summary>
internal sealed record DeployedFunction(
    Guid Id,
    string AppId,
    string Name,
    int Version,
    FunctionSettings Settings,
    string ArtifactHash,
    IReadOnlyDictionary<string, string> SealedEnv,
    bool HasFiles)
{
    /// <summary>Identifies one immutable version; worker pools are keyed by it.</summary>
    public (Guid, int) VersionKey => (Id, Version);

    /// <summary>The services this version has bindings for, computed once (the capability of every invocation carries it).</summary>
    public IReadOnlyList<string> BoundServices => _boundServices ??= [.. Settings.Bindings.Select(b => b.Service).Distinct()];

    private IReadOnlyList<string>? _boundServices;
}
