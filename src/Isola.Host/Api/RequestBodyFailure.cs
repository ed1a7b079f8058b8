using Isola.Host.Errors;

namespace Isola.Host.Api;

/// <summary>
/// The one mapping of "the client's request body could not be read" to the error contract: a body cut short,
/// malformed chunked framing, a multipart body without its closing boundary, a body over a limit. These are
/// the client's faults, so 400 (or 413), never 500 or 502.
/// </summary>
internal static class RequestBodyFailure
{
    /// <summary>
    /// Finds a body-read failure in <paramref name="exception"/> or its inner exceptions (an HttpClient
    /// streaming the body to a worker wraps Kestrel's), or null when the failure is not the client's.
    /// </summary>
    public static IsolaException? Find(Exception exception)
    {
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case IsolaException api:
                    return api;
                case BadHttpRequestException bad when bad.StatusCode == StatusCodes.Status413PayloadTooLarge:
                    return new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, "the request body is too large: " + bad.Message);
                case BadHttpRequestException bad:
                    return new IsolaException(bad.StatusCode == StatusCodes.Status408RequestTimeout ? ErrorKind.TooSlow : ErrorKind.Invalid, ErrorCodes.InvalidRequest,
                        "the request body could not be read: " + bad.Message);
            }
        }

        return null;
    }

    /// <summary>
    /// Runs a read of the request body (nothing else: any <see cref="IOException"/> inside is taken as the
    /// client's body ending early), turning its failures into a 400 or 413.
    /// </summary>
    public static async Task<T> Guard<T>(Func<Task<T>> read, string what = "the request body")
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (Map(ex, what) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <inheritdoc cref="Guard{T}(Func{Task{T}}, string)"/>
    public static async ValueTask<int> Guard(Func<ValueTask<int>> read, string what = "the request body")
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (Map(ex, what) is { } mapped)
        {
            throw mapped;
        }
    }

    private static IsolaException? Map(Exception ex, string what) => ex switch
    {
        IsolaException => null,
        BadHttpRequestException => Find(ex),
        // The form and multipart readers say "limit" when a configured length limit is passed.
        InvalidDataException when ex.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) =>
            new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"{what} is too large: {ex.Message}"),
        InvalidDataException => IsolaException.InvalidRequest($"{what} is malformed: {ex.Message}"),
        // e.g. the multipart reader's "Unexpected end of Stream": the body ended before its closing boundary.
        IOException => IsolaException.InvalidRequest($"{what} ended early or is malformed: {ex.Message}"),
        _ => null,
    };
}
