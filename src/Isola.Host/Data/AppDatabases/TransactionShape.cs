using System.Data;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// How a transaction of a typed function is begun: a mutation's serializable, a query's a read-only snapshot
/// (repeatable read), and, for a live query's run, noting the tables it read.
/// </summary>
internal sealed record TransactionShape(IsolationLevel Isolation, bool ReadOnly, bool TrackReads)
{
    public static TransactionShape Mutation { get; } = new(IsolationLevel.Serializable, ReadOnly: false, TrackReads: false);

    public static TransactionShape Query(bool trackReads) => new(IsolationLevel.RepeatableRead, ReadOnly: true, trackReads);
}
