using System.Collections.Concurrent;

namespace Isola.Host.Data.FunctionDb;

/// <summary>
/// The tables each live query run read (<c>schema.table</c>), noted by its transactions as they end and taken by the
/// run's owner (LiveQueries/) once the invocation has answered. Keyed by invocation id.
/// </summary>
internal sealed class ReadSets
{
    private readonly ConcurrentDictionary<string, HashSet<string>> _byInvocation = new(StringComparer.Ordinal);

    public void Add(string invocationId, IEnumerable<string> tables)
    {
        var set = _byInvocation.GetOrAdd(invocationId, _ => new HashSet<string>(StringComparer.Ordinal));
        lock (set)
        {
            set.UnionWith(tables);
        }
    }

    /// <summary>What the invocation's transactions read, and forgets it; empty when they read nothing (or never ended).</summary>
    public IReadOnlySet<string> Take(string invocationId) =>
        _byInvocation.TryRemove(invocationId, out var set) ? set : new HashSet<string>(StringComparer.Ordinal);
}
