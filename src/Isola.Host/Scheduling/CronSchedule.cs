using Cronos;

namespace Isola.Host.Scheduling;

/// <summary>
/// A cron trigger's schedule: a standard 5-field expression, 6 fields with seconds first, or a
/// macro (<c>@hourly</c>, <c>@daily</c> …), evaluated in an IANA time zone (UTC by default).
/// Parsing is Cronos's; this type only picks the format and says what was wrong.
/// </summary>
internal sealed class CronSchedule
{
    private readonly CronExpression _expression;

    private CronSchedule(string text, CronExpression expression, TimeZoneInfo timeZone, bool hasSeconds)
    {
        Text = text;
        _expression = expression;
        TimeZone = timeZone;
        HasSeconds = hasSeconds;
    }

    public string Text { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>True when the expression has a seconds field (6 fields), so ticks can come less than a minute apart.</summary>
    public bool HasSeconds { get; }

    /// <summary>Parses <paramref name="text"/> in <paramref name="timeZoneId"/>; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static CronSchedule Parse(string text, string? timeZoneId = null)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            throw new FormatException("is empty");
        }

        var fields = trimmed.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (!trimmed.StartsWith('@') && fields is not (5 or 6))
        {
            throw new FormatException($"expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; got {fields}");
        }

        var timeZone = TimeZoneInfo.Utc;
        if (timeZoneId is not null)
        {
            try
            {
                timeZone = TimeZoneInfo.FindSystemTimeZoneById(timeZoneId);
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
            {
                throw new FormatException($"time zone '{timeZoneId}' is not known (use an IANA name such as \"Europe/Oslo\")", ex);
            }
        }

        try
        {
            var format = fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
            return new CronSchedule(trimmed, CronExpression.Parse(trimmed, format), timeZone, fields == 6);
        }
        catch (CronFormatException ex)
        {
            // Cronos says "The given cron expression has an invalid format. Minutes: …": keep the part that names the field.
            const string Preamble = "The given cron expression has an invalid format. ";
            var message = ex.Message.StartsWith(Preamble, StringComparison.Ordinal) ? ex.Message[Preamble.Length..] : ex.Message;
            throw new FormatException(message.TrimEnd('.'), ex);
        }
    }

    public static bool TryParse(string text, string? timeZoneId, out CronSchedule? schedule, out string? error)
    {
        try
        {
            schedule = Parse(text, timeZoneId);
            error = null;
            return true;
        }
        catch (FormatException ex)
        {
            schedule = null;
            error = ex.Message;
            return false;
        }
    }

    /// <summary>
    /// The first tick strictly after <paramref name="after"/>, or null when the expression never fires again.
    /// Always in UTC (offset 0), as PostgreSQL's timestamptz takes it; the time zone only decides which instants tick.
    /// </summary>
    public DateTimeOffset? NextAfter(DateTimeOffset after) =>
        _expression.GetNextOccurrence(after, TimeZone, inclusive: false)?.ToUniversalTime();

    /// <summary>The next <paramref name="count"/> ticks after <paramref name="after"/> (a function's GET shows them).</summary>
    public IReadOnlyList<DateTimeOffset> NextTicks(DateTimeOffset after, int count)
    {
        var ticks = new List<DateTimeOffset>(count);
        var cursor = after;
        while (ticks.Count < count && NextAfter(cursor) is { } next)
        {
            ticks.Add(next);
            cursor = next;
        }

        return ticks;
    }
}
