using System.Text.Json;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Microsoft.Net.Http.Headers;

namespace Isola.Host.Api;

/// <summary>
/// Reads a deploy or update body: JSON, or <c>multipart/form-data</c> with a <c>metadata</c> part (the JSON
/// fields) and a <c>bundle</c> part (a .tar.gz, .tar or .zip of the function's files, binary files included).
/// </summary>
internal static class DeployBody
{
    public static async Task<(JsonElement Body, IReadOnlyDictionary<string, byte[]>? Uploaded)> ReadAsync(HttpRequest request, FunctionRequestParser.Limits limits)
    {
        // JSON escaping can double the code's size; the fields around it are small.
        var maxJson = (2L * Math.Max(limits.MaxCodeBytes, limits.MaxSourceBytes)) + (256 * 1024);
        if (!request.HasFormContentType || !MediaTypeHeaderValue.TryParse(request.ContentType, out var type) ||
            !type.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return (await JsonBody.ReadAsync(request, maxJson), null);
        }

        if (request.ContentLength > limits.MaxSourceBytes + (1024 * 1024))
        {
            throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the upload is over the limit of {limits.MaxSourceBytes} bytes");
        }

        var form = await RequestBodyFailure.Guard(() => request.ReadFormAsync(new Microsoft.AspNetCore.Http.Features.FormOptions
        {
            MultipartBodyLengthLimit = limits.MaxSourceBytes + (1024 * 1024),
            ValueLengthLimit = 1024 * 1024,
        }, request.HttpContext.RequestAborted), "the multipart body");

        foreach (var key in form.Keys.Concat(form.Files.Select(f => f.Name)))
        {
            if (key is not ("metadata" or "bundle"))
            {
                throw IsolaException.InvalidField(key, "is not a known part; a multipart deploy has 'metadata' (JSON) and 'bundle' (archive)");
            }
        }

        var metadataText = form.TryGetValue("metadata", out var values) ? values.ToString() : null;
        if (metadataText is null && form.Files.GetFile("metadata") is { } metadataFile)
        {
            using var reader = new StreamReader(metadataFile.OpenReadStream());
            metadataText = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        }

        var metadata = JsonBody.Parse(string.IsNullOrWhiteSpace(metadataText) ? "{}" : metadataText, "the 'metadata' part");

        var bundle = form.Files.GetFile("bundle");
        if (bundle is null)
        {
            return (metadata, null);
        }

        using var buffer = new MemoryStream();
        await bundle.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        // Decompressing and checking an archive is CPU work: off the socket thread this continuation may run on (decision 032).
        var archive = buffer.ToArray();
        return (metadata, await Task.Run(() => ArchiveReader.Read(archive, limits.MaxSourceBytes)));
    }
}
