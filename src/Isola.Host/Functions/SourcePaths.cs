using Isola.Host.Errors;

namespace Isola.Host.Functions;

/// <summary>
/// Validates file paths of a multi-file deploy: relative, forward slashes, no escaping the functions
/// root (only <c>../_shared/</c>-style siblings are reachable), and within count and size limits.
/// </summary>
internal static class SourcePaths
{
    public const int MaxFiles = 1000;
    public const int MaxPathLength = 255;

    /// <summary>Returns the normalised path, or throws 400 naming <paramref name="field"/>.</summary>
    public static string Normalize(string path, string field)
    {
        if (path.Length is 0 or > MaxPathLength || path.Contains('\\', StringComparison.Ordinal) || path.Contains('\0', StringComparison.Ordinal))
        {
            throw IsolaException.InvalidField(field, $"must be a relative path with '/' separators, 1-{MaxPathLength} characters");
        }

        if (path.StartsWith('/'))
        {
            throw IsolaException.InvalidField(field, "must be relative to the function's folder, not absolute");
        }

        // Resolve against functions/<fn>/ and require the result to stay under functions/.
        var parts = new List<string> { "fn" };
        foreach (var segment in path.Split('/'))
        {
            switch (segment)
            {
                case "" or ".":
                    continue;
                case "..":
                    if (parts.Count == 0)
                    {
                        throw IsolaException.InvalidField(field, "leaves the functions folder; only the function's files and siblings such as ../_shared/ are allowed");
                    }

                    parts.RemoveAt(parts.Count - 1);
                    break;
                default:
                    parts.Add(segment);
                    break;
            }
        }

        if (parts.Count == 0 || (parts.Count == 1 && parts[0] == "fn"))
        {
            throw IsolaException.InvalidField(field, "names a folder, not a file");
        }

        return parts[0] == "fn" ? string.Join('/', parts.Skip(1)) : "../" + string.Join('/', parts);
    }

    /// <summary>Picks the entrypoint: the one given (which must exist), else the first default that exists.</summary>
    public static string ChooseEntrypoint(IReadOnlyDictionary<string, byte[]> files, string? given, string field)
    {
        if (given is not null)
        {
            var normalized = Normalize(given, field);
            if (!files.ContainsKey(normalized))
            {
                throw IsolaException.InvalidField(field, $"names '{given}', which is not among the uploaded files");
            }

            if (normalized.StartsWith("../", StringComparison.Ordinal) || !FunctionSource.EntrypointExtensions.Any(e => normalized.EndsWith(e, StringComparison.Ordinal)))
            {
                throw IsolaException.InvalidField(field, $"must be a file of the function ending in {string.Join(", ", FunctionSource.EntrypointExtensions)}");
            }

            return normalized;
        }

        return FunctionSource.DefaultEntrypoints.FirstOrDefault(files.ContainsKey)
            ?? throw IsolaException.InvalidField(field, $"is required: no {string.Join(", ", FunctionSource.DefaultEntrypoints)} among the files");
    }
}
