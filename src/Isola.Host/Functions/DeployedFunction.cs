

namespace Isola.Host.Functions;

/// <summary>
/// What the gateway needs to run a function: its current version's settings, artifact and sealed env, and its
/// app's sealed secrets at <see cref="SecretsVersion"/> (C5; the function's own env wins over them).
/// </summary>
internal sealed record DeployedFunction(
    Guid Id,
    string AppId,
    string Name,
    int Version,
    FunctionSettings Settings,
    string ArtifactHash,
    IReadOnlyDictionary<string, string> SealedEnv,
    bool HasFiles,
    IReadOnlyDictionary<string, string>? SealedAppSecrets = null,
    long SecretsVersion = 0)
{
    /// <summary>Identifies what a worker loads: one immutable version with one state of the app's secrets. Worker pools are keyed by it.</summary>
    public (Guid, int, long) VersionKey => (Id, Version, SecretsVersion);

    /// <summary>The services this version has bindings for, computed once (the capability of every invocation carries it).</summary>
    public IReadOnlyList<string> BoundServices => _boundServices ??= [.. Settings.Bindings.Select(b => b.Service).Distinct()];

    private IReadOnlyList<string>? _boundServices;
}
