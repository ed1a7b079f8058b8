using System.Globalization;
using Isola.Host.Scheduling;

namespace Isola.Host.Tests.Scheduling;

public sealed class CronScheduleTests
{
    [Theory]
    [InlineData("* * * * *", "2026-01-01T10:00:30Z", "2026-01-01T10:01:00Z")]
    [InlineData("*/5 * * * *", "2026-01-01T10:01:00Z", "2026-01-01T10:05:00Z")]
    [InlineData("0 * * * *", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z")]
    [InlineData("0 9 * * *", "2026-01-01T09:00:00Z", "2026-01-02T09:00:00Z")]
    [InlineData("0 0 * * 1", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z")] // 2026-01-05 is a Monday
    [InlineData("0 0 * * MON", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z")]
    [InlineData("0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z")] // 7 is Sunday
    [InlineData("30 4 1,15 * *", "2026-01-02T00:00:00Z", "2026-01-15T04:30:00Z")]
    [InlineData("0 0 31 * *", "2026-02-01T00:00:00Z", "2026-03-31T00:00:00Z")]
    [InlineData("0 0 1 JAN *", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")]
    [InlineData("@hourly", "2026-01-01T10:15:00Z", "2026-01-01T11:00:00Z")]
    [InlineData("@daily", "2026-01-01T10:15:00Z", "2026-01-02T00:00:00Z")]
    [InlineData("5/20 * * * *", "2026-01-01T10:06:00Z", "2026-01-01T10:25:00Z")]
    [InlineData("*/10 * * * * *", "2026-01-01T10:00:01Z", "2026-01-01T10:00:10Z")] // 6 fields: seconds first
    public void NextAfter_finds_the_next_tick_in_utc(string expression, string after, string expected)
    {
        var next = CronSchedule.Parse(expression).NextAfter(DateTimeOffset.Parse(after, CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse(expected, CultureInfo.InvariantCulture), next);
    }

    [Fact]
    public void NextAfter_follows_the_time_zone_across_a_daylight_saving_change()
    {
        // 09:00 in Oslo is 08:00 UTC in winter and 07:00 UTC in summer (DST began 2026-03-29).
        var schedule = CronSchedule.Parse("0 9 * * *", "Europe/Oslo");
        Assert.Equal(DateTimeOffset.Parse("2026-03-28T08:00:00Z", CultureInfo.InvariantCulture),
            schedule.NextAfter(DateTimeOffset.Parse("2026-03-28T00:00:00Z", CultureInfo.InvariantCulture)));
        Assert.Equal(DateTimeOffset.Parse("2026-03-29T07:00:00Z", CultureInfo.InvariantCulture),
            schedule.NextAfter(DateTimeOffset.Parse("2026-03-29T00:00:00Z", CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void NextTicks_lists_consecutive_ticks()
    {
        var ticks = CronSchedule.Parse("*/15 * * * *").NextTicks(DateTimeOffset.Parse("2026-01-01T10:01:00Z", CultureInfo.InvariantCulture), 3);
        Assert.Equal(["10:15", "10:30", "10:45"], ticks.Select(t => t.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture)));
    }

    [Theory]
    [InlineData("* * * *", "expected 5 fields")]
    [InlineData("* * * * * * *", "got 7")]
    [InlineData("   ", "is empty")]
    [InlineData("60 * * * *", "Minutes: Value must be a number between 0 and 59")]
    [InlineData("* 24 * * *", "Hours")]
    [InlineData("* * 0 * *", "Days of month")]
    [InlineData("* * * 13 *", "Months")]
    [InlineData("* * * * 8", "Days of week")]
    [InlineData("*/0 * * * *", "Minutes")]
    [InlineData("1,,2 * * * *", "Minutes")]
    [InlineData("@often", "Macro")]
    public void Parse_rejects_bad_expressions(string expression, string problem)
    {
        var error = Assert.Throws<FormatException>(() => CronSchedule.Parse(expression));
        Assert.Contains(problem, error.Message);
        Assert.DoesNotContain("The given cron expression", error.Message);
    }

    [Fact]
    public void Parse_rejects_an_unknown_time_zone_naming_it()
    {
        var error = Assert.Throws<FormatException>(() => CronSchedule.Parse("* * * * *", "Mars/Olympus"));
        Assert.Contains("time zone 'Mars/Olympus' is not known", error.Message);
    }
}
