using System.Collections.Concurrent;
using Isola.Host.Data.AppDatabases;
using Isola.Host.Errors;
using Isola.Host.Workers.Calls;

namespace Isola.Host.Data.FunctionDb;

/// <summary>
/// Transactions functions hold open (<c>ctx.db.transaction</c>), each tied to the capability of the
/// invocation that began it. When that invocation ends, however it ends, its open transactions roll
/// back: a function that forgets to commit, or a worker that dies mid-transaction, leaves no locks.
/// </summary>
internal sealed class DbTransactions
{
    /// <summary>Transactions one invocation may hold open at once.</summary>
    public const int MaxPerInvocation = 4;

    private readonly ConcurrentDictionary<(string Capability, string Tx), SqlSession> _open = new();
    private long _next;

    public DbTransactions(InvocationCapabilities capabilities)
    {
        // Every invocation's end comes here; nearly all opened no transaction, and then nothing is allocated.
        capabilities.Ended += capability =>
        {
            if (!_open.IsEmpty)
            {
                _ = RollBackAllAsync(capability);
            }
        };
    }

    /// <summary>Open transactions on this node (tests and metrics).</summary>
    public int Count => _open.Count;

    public string Add(string capability, SqlSession session)
    {
        if (_open.Keys.Count(key => key.Capability == capability) >= MaxPerInvocation)
        {
            throw new HostCallException(ErrorCodes.TooManyTransactions, $"an invocation may hold at most {MaxPerInvocation} transactions open at once");
        }

        var tx = "tx" + Interlocked.Increment(ref _next).ToString(System.Globalization.CultureInfo.InvariantCulture);
        _open[(capability, tx)] = session;
        return tx;
    }

    /// <summary>The open transaction <paramref name="tx"/> of this invocation; another invocation's id finds nothing.</summary>
    public SqlSession Get(string capability, string? tx) =>
        tx is not null && _open.TryGetValue((capability, tx), out var session)
            ? session
            : throw new HostCallException(ErrorCodes.TransactionNotFound, $"transaction '{tx}' is not open (it was committed, rolled back, or belongs to another invocation)");

    /// <summary>Takes the transaction out of the table, so exactly one of commit, rollback or the invocation's end finishes it.</summary>
    public SqlSession Take(string capability, string? tx) =>
        tx is not null && _open.TryRemove((capability, tx), out var session)
            ? session
            : throw new HostCallException(ErrorCodes.TransactionNotFound, $"transaction '{tx}' is not open (it was committed, rolled back, or belongs to another invocation)");

    private async Task RollBackAllAsync(string capability)
    {
        foreach (var key in _open.Keys.Where(key => key.Capability == capability).ToList())
        {
            if (_open.TryRemove(key, out var session))
            {
                await session.RollbackAsync();
                await session.DisposeAsync();
            }
        }
    }
}
