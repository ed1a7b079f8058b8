namespace Isola.Client;

/// <summary>
/// Isola itself refused or failed a request (the management API, or the gateway before or around a function):
/// the error contract's <c>{"error": {"code", "message", "field"}}</c>.
/// </summary>
public sealed class IsolaApiException : Exception
{
    public IsolaApiException(int status, string code, string message, string? field = null)
        : base(message)
    {
        Status = status;
        Code = code;
        Field = field;
    }

    public IsolaApiException(string message)
        : this(0, "", message)
    {
    }

    /// <summary>The HTTP status, e.g. 404.</summary>
    public int Status { get; }

    /// <summary>The machine-readable code, e.g. <c>FUNCTION_NOT_FOUND</c> (docs/functions-api.md lists them).</summary>
    public string Code { get; }

    /// <summary>The request field that was wrong, when one was.</summary>
    public string? Field { get; }
}
