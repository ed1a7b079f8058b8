namespace Isola.Cli.Project;

/// <summary>
/// Reads an env file as Supabase's <c>--env-file</c> does: <c>NAME=value</c> lines, <c>export</c> allowed,
/// <c>#</c> comments, values in double quotes (with <c>\n</c> escapes) or single quotes (taken as they are).
/// </summary>
internal static class DotEnv
{
    public static Dictionary<string, string> Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"env file {path} does not exist");
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in File.ReadAllLines(path))
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            if (line.StartsWith("export ", StringComparison.Ordinal))
            {
                line = line["export ".Length..].TrimStart();
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliException($"{path}:{number}: expected NAME=value");
            }

            values[line[..equals].Trim()] = Unquote(line[(equals + 1)..].Trim(), path, number);
        }

        return values;
    }

    /// <summary><c>NAME=value</c> from the command line (<c>isola secrets set A=1 B=2</c>).</summary>
    public static KeyValuePair<string, string> Pair(string text)
    {
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        return equals > 0
            ? new(text[..equals], text[(equals + 1)..])
            : throw new CliException($"'{text}' is not NAME=value", ExitCodes.Usage);
    }

    private static string Unquote(string value, string path, int number)
    {
        if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'')
        {
            return value[1..^1];
        }

        if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
        {
            return value[1..^1].Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal)
                .Replace("\\\\", "\\", StringComparison.Ordinal);
        }

        if (value.StartsWith('"') || value.StartsWith('\''))
        {
            throw new CliException($"{path}:{number}: the quote is not closed");
        }

        // An unquoted value ends at a comment.
        var comment = value.IndexOf(" #", StringComparison.Ordinal);
        return comment >= 0 ? value[..comment].TrimEnd() : value;
    }
}
