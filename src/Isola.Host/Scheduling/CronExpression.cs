using System.Globalization;

namespace Isola.Host.Scheduling;

/// <summary>
/// A standard 5-field cron expression (minute hour day-of-month month day-of-week) with ranges,
/// steps, lists, month/day names and the @hourly/@daily/@weekly/@monthly/@yearly macros.
/// As in Vixie cron, when both day fields are restricted a day matches if either does.
/// </summary>
internal sealed class CronExpression
{
    private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    private readonly ulong _minutes;
    private readonly uint _hours;
    private readonly uint _daysOfMonth;
    private readonly ushort _months;
    private readonly byte _daysOfWeek;
    private readonly bool _domRestricted;
    private readonly bool _dowRestricted;

    private CronExpression(ulong minutes, uint hours, uint daysOfMonth, ushort months, byte daysOfWeek, bool domRestricted, bool dowRestricted)
    {
        _minutes = minutes;
        _hours = hours;
        _daysOfMonth = daysOfMonth;
        _months = months;
        _daysOfWeek = daysOfWeek;
        _domRestricted = domRestricted;
        _dowRestricted = dowRestricted;
    }

    /// <summary>Parses <paramref name="text"/>; throws <see cref="FormatException"/> naming the bad field.</summary>
    public static CronExpression Parse(string text)
    {
        var expanded = text.Trim().ToLowerInvariant() switch
        {
            "@yearly" or "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" or "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            _ => text.Trim(),
        };
        var fields = expanded.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 5)
        {
            throw new FormatException($"expected 5 fields (minute hour day-of-month month day-of-week), got {fields.Length}");
        }

        var minutes = ParseField(fields[0], "minute", 0, 59, null);
        var hours = ParseField(fields[1], "hour", 0, 23, null);
        var dom = ParseField(fields[2], "day-of-month", 1, 31, null);
        var months = ParseField(fields[3], "month", 1, 12, MonthNames);
        var dow = ParseField(fields[4], "day-of-week", 0, 7, DayNames);
        if ((dow & (1UL << 7)) != 0)
        {
            dow = (dow | 1) & ~(1UL << 7); // 7 is Sunday too.
        }

        return new CronExpression(minutes, (uint)hours, (uint)dom, (ushort)months, (byte)dow,
            fields[2] != "*" && fields[2] != "?", fields[4] != "*" && fields[4] != "?");
    }

    public static bool TryParse(string text, out CronExpression? expression, out string? error)
    {
        try
        {
            expression = Parse(text);
            error = null;
            return true;
        }
        catch (FormatException ex)
        {
            expression = null;
            error = ex.Message;
            return false;
        }
    }

    /// <summary>The first matching minute strictly after <paramref name="after"/> (UTC), or null if none within 5 years.</summary>
    public DateTime? GetNextOccurrence(DateTime after)
    {
        var t = new DateTime(after.Year, after.Month, after.Day, after.Hour, after.Minute, 0, DateTimeKind.Utc).AddMinutes(1);
        var limit = t.AddYears(5);
        while (t < limit)
        {
            if ((_months & (1 << t.Month)) == 0)
            {
                t = new DateTime(t.Year, t.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1);
                continue;
            }

            if (!DayMatches(t))
            {
                t = t.Date.AddDays(1);
                continue;
            }

            if ((_hours & (1u << t.Hour)) == 0)
            {
                t = t.Date.AddHours(t.Hour + 1);
                continue;
            }

            if ((_minutes & (1UL << t.Minute)) == 0)
            {
                t = t.AddMinutes(1);
                continue;
            }

            return t;
        }

        return null;
    }

    private bool DayMatches(DateTime t)
    {
        var domMatch = (_daysOfMonth & (1u << t.Day)) != 0;
        var dowMatch = (_daysOfWeek & (1 << (int)t.DayOfWeek)) != 0;
        return _domRestricted && _dowRestricted ? domMatch || dowMatch : domMatch && dowMatch;
    }

    private static ulong ParseField(string field, string name, int min, int max, string[]? names)
    {
        ulong bits = 0;
        foreach (var part in field.Split(','))
        {
            if (part.Length == 0)
            {
                throw new FormatException($"{name} field '{field}' has an empty list item");
            }

            var stepSplit = part.Split('/');
            if (stepSplit.Length > 2)
            {
                throw new FormatException($"{name} field '{part}' has more than one '/'");
            }

            var step = 1;
            if (stepSplit.Length == 2 && (!int.TryParse(stepSplit[1], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1 || step > max))
            {
                throw new FormatException($"{name} field '{part}' has an invalid step '{stepSplit[1]}'");
            }

            int low, high;
            var range = stepSplit[0];
            if (range is "*" or "?")
            {
                (low, high) = (min, max);
            }
            else if (range.Contains('-', StringComparison.Ordinal))
            {
                var bounds = range.Split('-');
                if (bounds.Length != 2)
                {
                    throw new FormatException($"{name} field '{part}' is not a valid range");
                }

                low = ParseValue(bounds[0], name, min, max, names);
                high = ParseValue(bounds[1], name, min, max, names);
                if (low > high)
                {
                    throw new FormatException($"{name} field '{part}' has a range that runs backwards");
                }
            }
            else
            {
                low = ParseValue(range, name, min, max, names);
                high = stepSplit.Length == 2 ? max : low; // "5/15" means from 5 every 15.
            }

            for (var value = low; value <= high; value += step)
            {
                bits |= 1UL << value;
            }
        }

        return bits;
    }

    private static int ParseValue(string text, string name, int min, int max, string[]? names)
    {
        if (names is not null)
        {
            var index = Array.IndexOf(names, text.ToUpperInvariant());
            if (index >= 0)
            {
                return index + (names.Length == 12 ? 1 : 0);
            }
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new FormatException($"{name} value '{text}' is not between {min} and {max}");
        }

        return value;
    }
}
