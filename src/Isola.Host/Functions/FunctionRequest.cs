namespace Isola.Host.Functions;

/// <summary>
/// A validated deploy or update body. For an update, absent fields are null and
/// <see cref="Settings"/> is the current version's settings with the given fields applied.
/// <see cref="Source"/> is the new source (<c>code</c>, <c>files</c> or an uploaded archive), null to keep it.
/// </summary>
internal sealed record FunctionRequest(
    string? Name,
    FunctionSource? Source,
    IReadOnlyDictionary<string, string>? EnvVars,
    FunctionSettings Settings,
    IReadOnlyList<string> FieldsGiven);
