using System.Text.Json;
using Isola.Host.Errors;

namespace Isola.Host.Api;

/// <summary>
/// Reads a control-plane JSON body with a size cap, turning every failure into a clear 400 or 413. The one
/// place control-plane JSON is parsed: what it returns is safe to read with <c>GetString()</c> everywhere.
/// </summary>
internal static class JsonBody
{
    /// <summary>Deeper than any body the API defines (triggers, bindings); a 10k-deep body is refused before it costs a stack.</summary>
    public const int MaxDepth = 32;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = MaxDepth };

    private const int InlineParseBytes = 64 * 1024;

    public static async Task<JsonElement> ReadAsync(HttpRequest request, long maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(request.ContentLength.Value, maxBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await RequestBodyFailure.Guard(() => request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted))) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(buffer.Length + read, maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            throw IsolaException.InvalidRequest("the request body is empty; send a JSON object");
        }

        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        // A large body (a deploy's code) is parsed on the thread pool: with inline I/O (decision 032) this continuation
        // runs on a socket thread, and milliseconds of parsing there would hold up the other requests on it.
        return body.Length <= InlineParseBytes ? Parse(body, "the request body") : await Task.Run(() => Parse(body, "the request body"));
    }

    /// <summary>Parses UTF-8 JSON and checks every string in it can be read; <paramref name="what"/> names it in the error.</summary>
    public static JsonElement Parse(ReadOnlyMemory<byte> utf8, string what)
    {
        try
        {
            using var document = JsonDocument.Parse(utf8, Options);
            return Validated(document, what);
        }
        catch (JsonException ex)
        {
            throw IsolaException.InvalidRequest($"{what} is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>Parses JSON text (e.g. a multipart <c>metadata</c> part); the same checks as the UTF-8 overload.</summary>
    public static JsonElement Parse(string text, string what)
    {
        try
        {
            using var document = JsonDocument.Parse(text, Options);
            return Validated(document, what);
        }
        catch (JsonException ex)
        {
            throw IsolaException.InvalidRequest($"{what} is not valid JSON: {ex.Message}");
        }
    }

    private static JsonElement Validated(JsonDocument document, string what)
    {
        // The parser checks structure, not text: a raw 0xFF byte or a lone "\ud800" escape inside a string
        // passes it, and GetString() throws InvalidOperationException later, wherever a field is read.
        // One walk here answers 400 for every such string, property names included.
        if (FindUnreadableString(document.RootElement, "$") is { } path)
        {
            throw IsolaException.InvalidRequest($"{what} holds a string at {path} that is not valid UTF-8 (or an escape that is not valid UTF-16)");
        }

        return document.RootElement.Clone();
    }

    private static string? FindUnreadableString(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return Readable(element) ? null : path;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (FindUnreadableString(item, $"{path}[{index++}]") is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    string name;
                    try
                    {
                        name = property.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return path + " (a property name)";
                    }

                    if (FindUnreadableString(property.Value, path + "." + name) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private static bool Readable(JsonElement element)
    {
        try
        {
            _ = element.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static IsolaException TooLarge(long size, long maxBytes) =>
        new(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the request body is {(size > maxBytes ? "over" : "")} {maxBytes} bytes, the limit for this endpoint");
}
