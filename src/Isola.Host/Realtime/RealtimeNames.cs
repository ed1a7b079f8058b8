using System.Text.RegularExpressions;

namespace Isola.Host.Realtime;

/// <summary>What event and channel names and connection ids may look like; they travel between nodes in newline-separated NOTIFY payloads.</summary>
internal static partial class RealtimeNames
{
    public const string NameRule = "1-200 characters of letters, digits and . _ - : /";

    /// <summary>An event or channel name: the alphabet of trigger event names, so a channel can be named after an event.</summary>
    public static bool IsName(string? name) => name is { Length: > 0 and <= 200 } && NamePattern().IsMatch(name);

    public static bool IsConnectionId(string? id) => id is { Length: 32 } && ConnectionIdPattern().IsMatch(id);

    [GeneratedRegex("^[A-Za-z0-9._:/-]+$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex ConnectionIdPattern();
}
