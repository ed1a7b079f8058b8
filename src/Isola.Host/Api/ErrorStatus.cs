using Isola.Host.Errors;

namespace Isola.Host.Api;

/// <summary>The one mapping from a domain error's kind to its HTTP status.</summary>
internal static class ErrorStatus
{
    public static int Of(ErrorKind kind) => kind switch
    {
        ErrorKind.Invalid => 400,
        ErrorKind.Unauthenticated => 401,
        ErrorKind.Forbidden => 403,
        ErrorKind.NotFound => 404,
        ErrorKind.NotAllowed => 405,
        ErrorKind.TooSlow => 408,
        ErrorKind.Conflict => 409,
        ErrorKind.TooLarge => 413,
        ErrorKind.Unprocessable => 422,
        ErrorKind.Unavailable => 503,
        ErrorKind.Timeout => 504,
        _ => 500,
    };

    /// <summary>Response headers a kind calls for (the <c>Allow</c> list of a 405).</summary>
    public static IReadOnlyDictionary<string, string>? HeadersOf(IsolaException error) =>
        error is { Kind: ErrorKind.NotAllowed, Allowed: { } allowed } ? new Dictionary<string, string> { ["Allow"] = string.Join(", ", allowed) } : null;
}
