using System.Text.Json.Nodes;
using Isola.Host.Functions;
using Isola.Host.Scheduling;

namespace Isola.Host.Triggers.Cron;

/// <summary>
/// What a function's GET says about its cron triggers: for each, the next run times and the latest ticks
/// with how they went (a skipped tick says which run was still going).
/// </summary>
internal sealed class CronView(CronTickStore store, CronOptions options, TimeProvider time)
{
    /// <summary>One object per cron trigger, or null when the function has none (no query is made then).</summary>
    public async Task<JsonArray?> DescribeAsync(FunctionRecord function, CancellationToken cancellationToken)
    {
        var triggers = function.Settings.Triggers.Where(trigger => trigger.Type == TriggerSpec.Cron).ToList();
        if (triggers.Count == 0)
        {
            return null;
        }

        var recent = await store.RecentAsync(function.Id, options.RecentTicksShown, cancellationToken);
        var now = time.GetUtcNow();
        var view = new JsonArray();
        foreach (var trigger in triggers)
        {
            var key = new CronKey(function.Id, trigger.Config["schedule"], trigger.Config.GetValueOrDefault("timezone") ?? CronKey.Utc);
            IReadOnlyList<DateTimeOffset> next = CronSchedule.TryParse(key.Schedule, key.TimeZone, out var schedule, out _)
                ? schedule!.NextTicks(now, options.NextRunsShown)
                : [];
            view.Add(new JsonObject
            {
                ["schedule"] = key.Schedule,
                ["timezone"] = key.TimeZone,
                ["nextRuns"] = new JsonArray([.. next.Select(tick => JsonValue.Create(CronKey.FormatTick(tick)))]),
                ["recentTicks"] = new JsonArray([.. recent.Where(tick => tick.Key == key).Select(Render)]),
            });
        }

        return view;
    }

    private static JsonNode Render(CronTickStore.Tick tick) => new JsonObject
    {
        ["scheduledAt"] = CronKey.FormatTick(tick.ScheduledAt),
        ["status"] = tick.Status,
        ["version"] = tick.Version,
        ["node"] = tick.Node,
        ["invocationId"] = tick.InvocationId?.ToString("N"),
        ["finishedAt"] = tick.FinishedAt is { } finished ? CronKey.FormatTick(finished) : null,
        ["detail"] = tick.Detail,
    };
}
