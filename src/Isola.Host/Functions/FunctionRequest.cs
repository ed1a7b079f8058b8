namespace Isola.Host.Functions;

/// <summary>
/// A validated deploy or update body. For an update, absent fields are null and
/// <see cref="Settings"/> is the current version's settings with the given fields applied.
/// </summary>
internal sealed record FunctionRequest(
    string? Name,
    string? Code,
    IReadOnlyDictionary<string, string>? EnvVars,
    FunctionSettings Settings,
    IReadOnlyList<string> FieldsGiven);
