namespace Isola.Host.Api;

/// <summary>
/// A failure the platform answers itself, with the error contract (docs/functions-api.md, "Errors").
/// Thrown anywhere below an endpoint; <see cref="ErrorContractMiddleware"/> writes it.
/// </summary>
internal sealed class ApiException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    /// <summary>Extra response headers, e.g. <c>Allow</c> on a 405.</summary>
    public IReadOnlyDictionary<string, string>? Headers { get; init; }

    /// <summary>The request field at fault (e.g. <c>triggers[1].config.schedule</c>), echoed as <c>error.field</c>.</summary>
    public string? Field { get; init; }

    /// <summary>More members of the error object (e.g. PostgreSQL's <c>sqlState</c> and <c>position</c>).</summary>
    public System.Text.Json.Nodes.JsonObject? Extra { get; init; }

    public static ApiException InvalidRequest(string message) => new(400, ErrorCodes.InvalidRequest, message);

    /// <summary>A 400 naming the field at fault; the message starts with the field so it reads on its own.</summary>
    public static ApiException InvalidField(string field, string problem) =>
        new(400, ErrorCodes.InvalidRequest, $"{field} {problem}") { Field = field };

    public static ApiException NotFound(string code, string message) => new(404, code, message);
}
