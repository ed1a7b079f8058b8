using System.Text.Json.Nodes;

namespace Isola.Host.Workers.Calls;

/// <summary>
/// A call the host refuses or that failed; reaches the function as an <c>Error</c> with this code and
/// message (and any extra fields, such as PostgreSQL's <c>detail</c> and <c>hint</c>).
/// </summary>
internal sealed class HostCallException(string code, string message, JsonObject? details = null) : Exception(message)
{
    public string Code { get; } = code;

    public JsonObject? Details { get; } = details;
}
