using System.Text.RegularExpressions;

namespace Isola.Cli.Dev;

/// <summary>
/// Reads the start banner <c>isola serve</c> prints: "Isola is serving on URL", then the admin key line, which
/// ends the banner. Used by <c>isola dev</c> and by the tests that start node processes.
/// </summary>
internal static partial class NodeBanner
{
    /// <summary>Takes one line; returns the node's URL once the banner is complete, else null (remembering the URL seen).</summary>
    public static Uri? Read(string line, ref Uri? url)
    {
        var match = ServingLine().Match(line);
        if (match.Success)
        {
            url = new Uri(match.Groups[1].Value);
            return null;
        }

        return line.StartsWith("Admin API key", StringComparison.Ordinal) ? url : null;
    }

    [GeneratedRegex(@"^Isola is serving on (http://\S+)")]
    private static partial Regex ServingLine();
}
