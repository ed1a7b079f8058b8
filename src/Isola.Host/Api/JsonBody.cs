using System.Text.Json;

namespace Isola.Host.Api;

/// <summary>Reads a control-plane JSON body with a size cap, turning every failure into a clear 400 or 413.</summary>
internal static class JsonBody
{
    public static async Task<JsonElement> ReadAsync(HttpRequest request, long maxBytes)
    {
        if (request.ContentLength > maxBytes)
        {
            throw TooLarge(request.ContentLength.Value, maxBytes);
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw TooLarge(buffer.Length + read, maxBytes);
            }

            buffer.Write(chunk, 0, read);
        }

        if (buffer.Length == 0)
        {
            throw ApiException.InvalidRequest("the request body is empty; send a JSON object");
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length),
                new JsonDocumentOptions { MaxDepth = 32 });
            return document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw ApiException.InvalidRequest($"the request body is not valid JSON: {ex.Message}");
        }
    }

    private static ApiException TooLarge(long size, long maxBytes) =>
        new(413, ErrorCodes.PayloadTooLarge, $"the request body is {(size > maxBytes ? "over" : "")} {maxBytes} bytes, the limit for this endpoint");
}
