using System.Text.Json.Nodes;

namespace Isola.Host.Workers.Calls;

/// <summary>
/// Serves one family of calls from functions (<c>db.*</c>, later <c>events.*</c>, <c>scheduler.*</c>),
/// chosen by the part of the op name before the first dot.
/// </summary>
internal interface IHostCallHandler
{
    /// <summary>The op prefix served, e.g. <c>db</c> for <c>db.query</c>.</summary>
    string Family { get; }

    /// <summary>Answers the call; throws <see cref="HostCallException"/> for an answer the function should see as an error.</summary>
    ValueTask<JsonNode?> HandleAsync(HostCall call, CancellationToken cancellationToken);
}
