namespace Isola.Host.Workers;

/// <summary>
/// The version a caller waited for was replaced (deploy, update, rollback, delete) before it got a
/// slot: not an error for the caller, who is sent on to the function's current version.
/// </summary>
internal sealed class PoolRetiredException(string functionName)
    : Exception($"'{functionName}' changed version while this request waited");
