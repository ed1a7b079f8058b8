using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Isola.Host.Data;

namespace Isola.Host.Hosting.Settings;

/// <summary>
/// The kinds of values settings take. Sizes and durations carry their unit in the value ("16MiB",
/// "250ms"), so a reader never has to guess whether a number means seconds or milliseconds.
/// </summary>
internal static partial class ValueRules
{
    public static ValueRule<int> WholeNumber(int min, int max)
    {
        var expected = $"a whole number from {min} to {max}";
        return new(expected,
            text => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? (true, value) : (false, 0),
            value => value >= min && value <= max ? null : "is not " + expected,
            value => value.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>A size in bytes: a plain number, or one with a unit (<c>KiB</c>, <c>MiB</c>, <c>GiB</c>).</summary>
    public static ValueRule<long> Bytes(long min, long max)
    {
        var expected = $"a size from {ShowBytes(min)} to {ShowBytes(max)} (bytes, or with KiB, MiB or GiB)";
        return new(expected,
            text =>
            {
                var match = SizeText().Match(text);
                if (!match.Success || !long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
                {
                    return (false, 0);
                }

                var unit = match.Groups["unit"].Value.ToUpperInvariant() switch { "KIB" => 1L << 10, "MIB" => 1L << 20, "GIB" => 1L << 30, _ => 1L };
                return number <= long.MaxValue / unit ? (true, number * unit) : (false, 0);
            },
            value => value >= min && value <= max ? null : "is not " + expected,
            ShowBytes);
    }

    /// <summary>A duration with its unit: <c>250ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>.</summary>
    public static ValueRule<TimeSpan> Duration(TimeSpan min, TimeSpan max)
    {
        var expected = $"a duration from {ShowDuration(min)} to {ShowDuration(max)} (a whole number with ms, s, m or h)";
        return new(expected,
            text =>
            {
                var match = DurationText().Match(text);
                if (!match.Success || !long.TryParse(match.Groups["n"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > 1_000_000_000)
                {
                    return (false, TimeSpan.Zero);
                }

                return (true, match.Groups["unit"].Value switch
                {
                    "ms" => TimeSpan.FromMilliseconds(number),
                    "s" => TimeSpan.FromSeconds(number),
                    "m" => TimeSpan.FromMinutes(number),
                    _ => TimeSpan.FromHours(number),
                });
            },
            value => value >= min && value <= max ? null : "is not " + expected,
            ShowDuration);
    }

    /// <summary>One of a few names, matched without regard to case.</summary>
    public static ValueRule<T> Choice<T>(IReadOnlyDictionary<string, T> choices)
        where T : notnull
    {
        var expected = "one of " + string.Join(", ", choices.Keys);
        return new(expected,
            text => choices.FirstOrDefault(pair => string.Equals(pair.Key, text, StringComparison.OrdinalIgnoreCase)) is { Key: not null } found
                ? (true, found.Value)
                : (false, default!),
            value => choices.Values.Contains(value) ? null : "is not " + expected,
            value => choices.First(pair => EqualityComparer<T>.Default.Equals(pair.Value, value)).Key);
    }

    /// <summary>On or off: <c>1</c>/<c>true</c> or <c>0</c>/<c>false</c>.</summary>
    public static ValueRule<bool> Switch { get; } = new("1, 0, true or false",
        text => text.ToLowerInvariant() switch
        {
            "1" or "true" => (true, true),
            "0" or "false" => (true, false),
            _ => (false, false),
        },
        _ => null,
        value => value ? "1" : "0");

    /// <summary>An IP address to bind (v4 or v6).</summary>
    public static ValueRule<string> IpAddress { get; } = new("an IP address such as 127.0.0.1 or 0.0.0.0",
        text => (IPAddress.TryParse(text, out _), text),
        value => IPAddress.TryParse(value, out _) ? null : "is not an IP address such as 127.0.0.1 or 0.0.0.0",
        value => value);

    /// <summary>An absolute http(s) base URL without query or fragment; a trailing slash is dropped.</summary>
    public static ValueRule<Uri?> BaseUrl { get; } = new("an http(s) URL such as https://functions.example.com",
        text => Uri.TryCreate(text.TrimEnd('/'), UriKind.Absolute, out var url) ? (true, url) : (false, null),
        value => value is null || (value.Scheme is "http" or "https" && value.Query.Length == 0 && value.Fragment.Length == 0)
            ? null
            : "is not an http(s) URL such as https://functions.example.com (no query or fragment)",
        value => value?.ToString());

    /// <summary>Any text; for values checked where they are used (a key registered as given).</summary>
    public static ValueRule<string?> Text { get; } = new("text", text => (true, text), _ => null, value => value);

    /// <summary>A file that exists; unset means "search for it".</summary>
    public static ValueRule<string?> ExistingFile { get; } = new("an existing file",
        text => (true, Path.GetFullPath(text)),
        value => value is null || File.Exists(value) ? null : Directory.Exists(value) ? "is a folder, not a file" : "does not exist",
        value => value);

    /// <summary>A folder the node creates if missing; it must not be a file.</summary>
    public static ValueRule<string?> Folder { get; } = new("a folder",
        text => (true, Path.GetFullPath(text)),
        value => value is null || !File.Exists(value) ? null : "is a file, not a folder",
        value => value);

    /// <summary>A folder holding the named program (PostgreSQL's <c>initdb</c>).</summary>
    public static ValueRule<string?> FolderWith(string program) => new($"a folder containing {program}",
        text => (true, Path.GetFullPath(text)),
        value => value is null || File.Exists(Path.Combine(value, program)) ? null : $"does not contain {program}",
        value => value);

    /// <summary>The name of an OS user (looked up in the passwd database).</summary>
    public static ValueRule<string?> OsUser { get; } = new("an OS user",
        text => (true, text),
        value => value is null || UnixUser.Find(value) is not null ? null : "is not an OS user",
        value => value);

    /// <summary>Base64 of exactly 32 bytes (the master key).</summary>
    public static ValueRule<string?> Key32 { get; } = new("the base64 encoding of exactly 32 bytes",
        text => (true, text),
        value => value is null || IsKey32(value) ? null : "must be the base64 encoding of exactly 32 bytes (create one with: openssl rand -base64 32)",
        value => value);

    /// <summary>A libpq URL or an Npgsql connection string.</summary>
    public static ValueRule<string?> DatabaseConnection { get; } = new("a postgres:// URL or an Npgsql connection string",
        text => (true, text),
        value =>
        {
            if (value is null)
            {
                return null;
            }

            try
            {
                DatabaseUrl.ToConnectionString(value);
                return null;
            }
            catch (Exception ex) when (ex is FormatException or UriFormatException or ArgumentException)
            {
                return "is neither a postgres:// URL nor a valid connection string: " + (ex.InnerException ?? ex).Message;
            }
        },
        value => value);

    private static bool IsKey32(string value)
    {
        Span<byte> key = stackalloc byte[33];
        return Convert.TryFromBase64String(value.Trim(), key, out var written) && written == 32;
    }

    private static string ShowBytes(long value) =>
        value != 0 && value % (1L << 30) == 0 ? $"{value >> 30}GiB"
        : value != 0 && value % (1L << 20) == 0 ? $"{value >> 20}MiB"
        : value != 0 && value % (1L << 10) == 0 ? $"{value >> 10}KiB"
        : value.ToString(CultureInfo.InvariantCulture);

    private static string ShowDuration(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (TimeSpan.FromMilliseconds(ms) != value)
        {
            return value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        return ms == 0 ? "0s"
            : ms % 3_600_000 == 0 ? $"{ms / 3_600_000}h"
            : ms % 60_000 == 0 ? $"{ms / 60_000}m"
            : ms % 1000 == 0 ? $"{ms / 1000}s"
            : $"{ms}ms";
    }

    [GeneratedRegex(@"^(?<n>[0-9]+)\s*(?<unit>KiB|MiB|GiB)?$", RegexOptions.IgnoreCase)]
    private static partial Regex SizeText();

    [GeneratedRegex(@"^(?<n>[0-9]+)(?<unit>ms|s|m|h)$")]
    private static partial Regex DurationText();
}
