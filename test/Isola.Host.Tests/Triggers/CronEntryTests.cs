using System.Globalization;
using Isola.Host.Scheduling;
using Isola.Host.Triggers.Cron;

namespace Isola.Host.Tests.Triggers;

/// <summary>Which tick a node runs when it wakes (decision 017): the latest due one, never a burst, never one too old.</summary>
public sealed class CronEntryTests
{
    private static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);

    [Fact]
    public void On_time_the_due_tick_runs_and_the_next_one_waits()
    {
        var entry = Entry("* * * * * *", handledUntil: "10:00:00");
        Assert.Null(entry.LatestDue(At("10:00:00.999"), At("10:00:00.999") - Grace));
        Assert.Equal(At("10:00:01"), entry.LatestDue(At("10:00:01.002"), At("10:00:01.002") - Grace));
        entry.Handled(At("10:00:01"));
        Assert.Equal(At("10:00:02"), entry.Next);
    }

    [Fact]
    public void A_node_that_wakes_late_runs_only_the_latest_due_tick()
    {
        var entry = Entry("*/5 * * * * *", handledUntil: "10:00:00");
        // 10:00:05, :10 and :15 are due: only :15 is claimed.
        Assert.Equal(At("10:00:15"), entry.LatestDue(At("10:00:17"), At("10:00:17") - Grace));
    }

    [Fact]
    public void Ticks_older_than_the_grace_never_run()
    {
        // Down since 09:00: the hourly ticks since then are not replayed, and with nothing due
        // inside the grace window nothing runs now; the next tick is the first one inside it.
        var entry = Entry("0 * * * *", handledUntil: "08:59:00");
        Assert.Null(entry.LatestDue(At("10:30:00"), At("10:30:00") - Grace));
        Assert.Equal(At("11:00:00"), entry.Next);

        // A tick inside the window still runs, once.
        var recent = Entry("* * * * *", handledUntil: "08:59:00");
        Assert.Equal(At("10:30:00"), recent.LatestDue(At("10:30:20"), At("10:30:20") - Grace));
    }

    [Fact]
    public void Ticks_follow_the_time_zone_and_are_in_utc()
    {
        var entry = new CronEntry(new CronKey(Guid.NewGuid(), "0 9 * * *", "Europe/Oslo"), CronSchedule.Parse("0 9 * * *", "Europe/Oslo"), "a", "f",
            DateTimeOffset.Parse("2026-06-01T00:00:00Z", CultureInfo.InvariantCulture));
        Assert.Equal(DateTimeOffset.Parse("2026-06-01T07:00:00Z", CultureInfo.InvariantCulture), entry.Next);
        Assert.Equal(TimeSpan.Zero, entry.Next!.Value.Offset); // timestamptz takes only UTC
        Assert.Equal("2026-06-01T07:00:00.000Z", CronKey.FormatTick(entry.Next.Value));
    }

    private static CronEntry Entry(string schedule, string handledUntil) =>
        new(new CronKey(Guid.NewGuid(), schedule, CronKey.Utc), CronSchedule.Parse(schedule), "default", "f", At(handledUntil));

    private static DateTimeOffset At(string time) => DateTimeOffset.Parse("2026-01-01T" + time + "Z", CultureInfo.InvariantCulture);
}
