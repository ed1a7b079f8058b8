namespace CSharpHop;

/// <summary>Headers the hop adds to every forwarded request, read once from a file of "name: value" lines.</summary>
internal static class FixedHeaders
{
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string path)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in File.ReadAllLines(path))
        {
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new InvalidOperationException($"{path}: '{line}' is not a 'name: value' header line");
            }

            headers.Add(KeyValuePair.Create(line[..colon].Trim(), line[(colon + 1)..].Trim()));
        }

        return headers;
    }
}
