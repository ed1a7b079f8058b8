using Isola.Host.Observability;
using Isola.Host.Tests.Infrastructure;
using Npgsql;

namespace Isola.Host.Tests.Observability;

/// <summary>The recorder's queue limit, on the unit: no database is reached (the writer loop is never started).</summary>
public sealed class InvocationRecorderTests
{
    [Fact]
    public async Task Records_past_a_full_queue_are_counted_their_console_lines_freed_and_warned_about_once()
    {
        await using var dataSource = NpgsqlDataSource.Create("Host=/nonexistent-isola-socket-dir;Database=none");
        var logger = new ListLogger<InvocationRecorder>();
        var recorder = new InvocationRecorder(dataSource, TimeProvider.System, logger, capacity: 2);

        var ids = Enumerable.Range(0, 5).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        foreach (var id in ids)
        {
            recorder.Begin(id);
            recorder.OnLog("w1", id, "info", new string('x', 1000), DateTimeOffset.UtcNow);
        }

        foreach (var id in ids)
        {
            recorder.Complete(Record(id));
        }

        Assert.Equal(3, recorder.DroppedRecords);
        // Only the two queued records still hold console lines; the dropped ones' were released.
        Assert.Equal(2, recorder.BufferedInvocations);
        var warnings = logger.Entries.Where(e => e.Level == LogLevel.Warning && e.Message.Contains("dropped", StringComparison.Ordinal)).ToList();
        Assert.Single(warnings);
        Assert.Contains("1 dropped", warnings[0].Message);
    }

    private static InvocationRecord Record(string id) =>
        new(id, Guid.NewGuid(), 1, DateTimeOffset.UtcNow, 1.5, "GET", "/", 200, null, null, null, null, "public", null);
}
