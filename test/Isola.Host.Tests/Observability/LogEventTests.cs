using System.Reflection;
using System.Text;
using Isola.Host.Observability;
using Isola.Host.Tests.Docs;

namespace Isola.Host.Tests.Observability;

/// <summary>
/// Every log message of the host has its own stable event id from <see cref="LogEvents"/>, and
/// docs/running.md lists them, so operators can filter and alert on an id.
/// </summary>
public sealed class LogEventTests
{
    private static readonly IReadOnlyList<(string Name, int Id)> Events = [.. typeof(LogEvents)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(field => field.IsLiteral)
        .Select(field => (field.Name, (int)field.GetRawConstantValue()!))];

    private static readonly IReadOnlyList<(MethodInfo Method, LoggerMessageAttribute Message)> Messages = [.. typeof(LogEvents).Assembly.GetTypes()
        .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
        .Select(method => (method, method.GetCustomAttribute<LoggerMessageAttribute>()))
        .Where(pair => pair.Item2 is not null)
        .Select(pair => (pair.method, pair.Item2!))];

    [Fact]
    public void Event_ids_are_unique_and_positive()
    {
        Assert.True(Events.Count > 40, $"only {Events.Count} ids found in LogEvents");
        Assert.All(Events, e => Assert.True(e.Id > 0, $"{e.Name} has id {e.Id}"));
        var shared = Events.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => e.Name))}");
        Assert.Empty(shared);
    }

    [Fact]
    public void Every_log_message_has_its_own_id_from_LogEvents()
    {
        Assert.True(Messages.Count > 40, $"only {Messages.Count} [LoggerMessage] methods found");
        var ids = Events.Select(e => e.Id).ToHashSet();
        Assert.All(Messages, m => Assert.True(ids.Contains(m.Message.EventId),
            $"{m.Method.DeclaringType!.Name}.{m.Method.Name} has event id {m.Message.EventId}, which is not one of LogEvents"));
        var shared = Messages.GroupBy(m => m.Message.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => $"{m.Method.DeclaringType!.Name}.{m.Method.Name}"))}");
        Assert.Empty(shared);
        var unused = Events.Where(e => Messages.All(m => m.Message.EventId != e.Id)).Select(e => e.Name);
        Assert.Empty(unused);
    }

    [Fact]
    public async Task The_log_event_table_of_the_docs_is_generated_from_LogEvents()
    {
        var expected = new StringBuilder("| id | event | level |\n|---|---|---|\n");
        foreach (var (name, id) in Events.OrderBy(e => e.Id))
        {
            var level = Messages.Single(m => m.Message.EventId == id).Message.Level;
            expected.Append(System.Globalization.CultureInfo.InvariantCulture, $"| {id} | {name} | {level} |\n");
        }

        await GeneratedSection.AssertIsAsync("docs/running.md", "log-events", expected.ToString());
    }
}
