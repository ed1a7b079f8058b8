using System.Text.Json.Nodes;

namespace Isola.Host.Errors;

/// <summary>
/// A failure the platform answers itself: a kind, a stable code from <see cref="ErrorCodes"/> and a message that
/// names what was wrong. Thrown by any layer; only the edge (<c>Api/ErrorContractMiddleware</c>, the gateway)
/// turns it into the error contract, choosing the status from <see cref="Kind"/>.
/// </summary>
internal sealed class IsolaException(ErrorKind kind, string code, string message) : Exception(message)
{
    public ErrorKind Kind { get; } = kind;

    public string Code { get; } = code;

    /// <summary>The request field at fault (e.g. <c>triggers[1].config.schedule</c>), echoed as <c>error.field</c>.</summary>
    public string? Field { get; init; }

    /// <summary>More members of the error object (e.g. PostgreSQL's <c>sqlState</c> and <c>position</c>).</summary>
    public JsonObject? Extra { get; init; }

    /// <summary>For <see cref="ErrorKind.NotAllowed"/>: what is offered instead (HTTP's <c>Allow</c>).</summary>
    public IReadOnlyList<string>? Allowed { get; init; }

    public static IsolaException InvalidRequest(string message) => new(ErrorKind.Invalid, ErrorCodes.InvalidRequest, message);

    /// <summary>Bad input naming the field at fault; the message starts with the field so it reads on its own.</summary>
    public static IsolaException InvalidField(string field, string problem) =>
        new(ErrorKind.Invalid, ErrorCodes.InvalidRequest, $"{field} {problem}") { Field = field };

    public static IsolaException NotFound(string code, string message) => new(ErrorKind.NotFound, code, message);
}
