using System.Data;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// How a typed function's statements run: a mutation's transaction is serializable; a query's statements are
/// read-only (each on its own, or in a repeatable-read snapshot for <c>ctx.db.transaction</c>); a live query's run
/// notes the tables its statements read.
/// </summary>
/// <param name="Isolation">For an explicit transaction; a statement on its own is one implicit transaction.</param>
internal sealed record TransactionShape(IsolationLevel Isolation, bool ReadOnly, bool TrackReads)
{
    public static TransactionShape Mutation { get; } = new(IsolationLevel.Serializable, ReadOnly: false, TrackReads: false);

    public static TransactionShape Query(bool trackReads) => new(IsolationLevel.RepeatableRead, ReadOnly: true, trackReads);
}
