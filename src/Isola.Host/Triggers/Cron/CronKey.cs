using System.Globalization;

namespace Isola.Host.Triggers.Cron;

/// <summary>One cron trigger of one function: its tick rows are keyed by this plus the tick.</summary>
/// <param name="TimeZone">The IANA id as deployed; <see cref="Utc"/> when none was given.</param>
internal readonly record struct CronKey(Guid FunctionId, string Schedule, string TimeZone)
{
    public const string Utc = "UTC";

    /// <summary>A tick as the payload's <c>scheduledAt</c> and the GET's <c>nextRuns</c> show it: UTC, milliseconds, <c>Z</c>.</summary>
    public static string FormatTick(DateTimeOffset tick) =>
        tick.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
