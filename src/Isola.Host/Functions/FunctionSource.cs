using System.Text;
using System.Text.Json.Nodes;

namespace Isola.Host.Functions;

/// <summary>
/// What was deployed: one <c>code</c> string, or a set of files with an entrypoint (feature C6). Paths are
/// relative to the function's folder; <c>../_shared/...</c> reaches the shared folder next to it, as in a
/// Supabase project. Stored as JSON in <c>function_versions.source</c>.
/// </summary>
internal sealed record FunctionSource(IReadOnlyDictionary<string, byte[]> Files, string Entrypoint, bool IsSingleCode)
{
    public const string SingleFileName = "index.ts";

    public static readonly IReadOnlyList<string> EntrypointExtensions = [".ts", ".js", ".mjs", ".tsx", ".jsx", ".mts"];

    /// <summary>Looked for, in order, when a multi-file deploy names no entrypoint.</summary>
    public static readonly IReadOnlyList<string> DefaultEntrypoints = ["index.ts", "index.js", "index.mjs", "index.tsx", "index.jsx", "main.ts", "main.js"];

    public static FunctionSource FromCode(string code) =>
        new(new Dictionary<string, byte[]> { [SingleFileName] = Encoding.UTF8.GetBytes(code) }, SingleFileName, IsSingleCode: true);

    public long TotalBytes => Files.Values.Sum(f => (long)f.Length);

    /// <summary><c>{"code": ...}</c> or <c>{"entrypoint", "files": {path: text}, "binaryFiles": {path: base64}}</c>.</summary>
    public JsonObject ToJson()
    {
        if (IsSingleCode)
        {
            return new JsonObject { ["code"] = Encoding.UTF8.GetString(Files[SingleFileName]) };
        }

        var text = new JsonObject();
        var binary = new JsonObject();
        foreach (var (path, bytes) in Files.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (TryDecodeUtf8(bytes, out var decoded))
            {
                text[path] = decoded;
            }
            else
            {
                binary[path] = Convert.ToBase64String(bytes);
            }
        }

        var json = new JsonObject { ["entrypoint"] = Entrypoint, ["files"] = text };
        if (binary.Count > 0)
        {
            json["binaryFiles"] = binary;
        }

        return json;
    }

    public static FunctionSource FromJson(JsonObject json)
    {
        if (json["code"] is JsonValue code)
        {
            return FromCode(code.GetValue<string>());
        }

        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (path, value) in json["files"]?.AsObject() ?? [])
        {
            files[path] = Encoding.UTF8.GetBytes(value!.GetValue<string>());
        }

        foreach (var (path, value) in json["binaryFiles"]?.AsObject() ?? [])
        {
            files[path] = Convert.FromBase64String(value!.GetValue<string>());
        }

        return new FunctionSource(files, json["entrypoint"]!.GetValue<string>(), IsSingleCode: false);
    }

    private static bool TryDecodeUtf8(byte[] bytes, out string text)
    {
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
            return !text.Contains('\0', StringComparison.Ordinal);
        }
        catch (DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }
}
