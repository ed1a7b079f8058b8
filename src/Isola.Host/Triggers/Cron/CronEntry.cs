using Isola.Host.Scheduling;

namespace Isola.Host.Triggers.Cron;

/// <summary>
/// A cron trigger as one node's loop sees it: which function it runs and the next tick this node has not
/// handled yet. Every node keeps its own; the tick rows in the database decide which node runs a tick.
/// </summary>
internal sealed class CronEntry(CronKey key, CronSchedule schedule, string appId, string name, DateTimeOffset handledUntil)
{
    public CronKey Key => key;

    public CronSchedule Schedule => schedule;

    public string AppId { get; set; } = appId;

    public string Name { get; set; } = name;

    /// <summary>The first tick this node has not handled; null when the expression never fires again.</summary>
    public DateTimeOffset? Next { get; private set; } = schedule.NextAfter(handledUntil);

    /// <summary>
    /// The most recent tick due at <paramref name="now"/> (database clock), or null when none is. Older due
    /// ticks are passed over, so a node that was late or down never replays a burst; ticks at or before
    /// <paramref name="oldest"/> are too old to run at all.
    /// </summary>
    public DateTimeOffset? LatestDue(DateTimeOffset now, DateTimeOffset oldest)
    {
        if (Next is not { } tick || tick > now)
        {
            return null;
        }

        if (tick <= oldest)
        {
            if (schedule.NextAfter(oldest) is not { } inWindow || inWindow > now)
            {
                Next = schedule.NextAfter(oldest);
                return null;
            }

            tick = inWindow;
        }

        // Bounded: only ticks between `oldest` and `now` are walked (60 for a per-second cron and a 1-minute grace).
        while (schedule.NextAfter(tick) is { } later && later <= now)
        {
            tick = later;
        }

        return tick;
    }

    /// <summary>This node is done with <paramref name="tick"/> (it ran, was skipped, or another node has it).</summary>
    public void Handled(DateTimeOffset tick) => Next = schedule.NextAfter(tick);
}
