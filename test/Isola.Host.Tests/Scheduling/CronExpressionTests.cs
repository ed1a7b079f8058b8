using Isola.Host.Scheduling;

namespace Isola.Host.Tests.Scheduling;

public sealed class CronExpressionTests
{
    [Theory]
    [InlineData("* * * * *", "2026-01-01T10:00:30", "2026-01-01T10:01:00")]
    [InlineData("*/5 * * * *", "2026-01-01T10:01:00", "2026-01-01T10:05:00")]
    [InlineData("0 * * * *", "2026-01-01T10:00:00", "2026-01-01T11:00:00")]
    [InlineData("0 9 * * *", "2026-01-01T09:00:00", "2026-01-02T09:00:00")]
    [InlineData("0 0 * * 1", "2026-01-01T00:00:00", "2026-01-05T00:00:00")] // 2026-01-05 is a Monday
    [InlineData("0 0 * * MON", "2026-01-01T00:00:00", "2026-01-05T00:00:00")]
    [InlineData("0 0 * * 7", "2026-01-01T00:00:00", "2026-01-04T00:00:00")] // 7 is Sunday
    [InlineData("30 4 1,15 * *", "2026-01-02T00:00:00", "2026-01-15T04:30:00")]
    [InlineData("0 0 31 * *", "2026-02-01T00:00:00", "2026-03-31T00:00:00")]
    [InlineData("0 0 1 JAN *", "2026-01-01T00:00:00", "2027-01-01T00:00:00")]
    [InlineData("0 0 13 * 5", "2026-01-01T00:00:00", "2026-01-02T00:00:00")] // either day field matches (Vixie)
    [InlineData("@hourly", "2026-01-01T10:15:00", "2026-01-01T11:00:00")]
    [InlineData("5/20 * * * *", "2026-01-01T10:06:00", "2026-01-01T10:25:00")]
    public void GetNextOccurrence_finds_the_next_matching_minute(string expression, string after, string expected)
    {
        var next = CronExpression.Parse(expression).GetNextOccurrence(DateTime.Parse(after, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(DateTime.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), next);
    }

    [Theory]
    [InlineData("* * * *", "expected 5 fields")]
    [InlineData("60 * * * *", "minute value '60'")]
    [InlineData("* 24 * * *", "hour value '24'")]
    [InlineData("* * 0 * *", "day-of-month value '0'")]
    [InlineData("* * * 13 *", "month value '13'")]
    [InlineData("* * * * 8", "day-of-week value '8'")]
    [InlineData("*/0 * * * *", "invalid step")]
    [InlineData("5-1 * * * *", "runs backwards")]
    [InlineData("1,,2 * * * *", "empty list item")]
    [InlineData("@often", "expected 5 fields")]
    public void Parse_rejects_bad_expressions_naming_the_problem(string expression, string problem)
    {
        var error = Assert.Throws<FormatException>(() => CronExpression.Parse(expression));
        Assert.Contains(problem, error.Message);
    }
}
