using System.Buffers.Text;
using System.Collections.Concurrent;
using Isola.Host.Hosting;

namespace Isola.Host.Workers.Calls;

/// <summary>
/// The live capabilities of invocations on this node. A capability is an unguessable token the host
/// puts in an invocation's envelope; a worker presents it with every call it makes for that
/// invocation. It is refused from another worker, after the runtime released it (the response is
/// sent and the invocation's waitUntil work settled), after the worker ended, and after it expired.
/// </summary>
internal sealed class InvocationCapabilities(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, CapabilityGrant> _grants = new(StringComparer.Ordinal);
    private long _lastSweep;

    /// <summary>Grants currently live (tests and metrics).</summary>
    public int Count => _grants.Count;

    /// <summary>Raised once for each grant that ends (released, expired, or its worker gone), with its token.</summary>
    public event Action<string>? Ended;

    public string Issue(CapabilityGrant grant)
    {
        SweepExpiredNow();
        Span<byte> secret = stackalloc byte[TokenBytes];
        BufferedSecureRandom.Fill(secret);
        var token = Base64Url.EncodeToString(secret);
        _grants[token] = grant;
        return token;
    }

    private const int TokenBytes = 18; // 144 bits, 24 characters

    /// <summary>The grant behind <paramref name="token"/> when it is live and belongs to <paramref name="workerId"/>; else why not.</summary>
    public CapabilityGrant? Find(string? token, string workerId, out string? refusal)
    {
        refusal = null;
        if (string.IsNullOrEmpty(token) || !_grants.TryGetValue(token, out var grant))
        {
            refusal = "the capability is unknown, or its invocation has ended";
            return null;
        }

        if (!string.Equals(grant.WorkerId, workerId, StringComparison.Ordinal))
        {
            // Presented by another worker: it leaked. The honest owner keeps it; the presenter gets nothing.
            refusal = "the capability belongs to another worker";
            return null;
        }

        if (time.GetUtcNow() > grant.ExpiresAt)
        {
            End(token);
            refusal = "the capability has expired";
            return null;
        }

        return grant;
    }

    /// <summary>Ends a grant; only its own worker may release it.</summary>
    public void Release(string token, string workerId)
    {
        if (_grants.TryGetValue(token, out var grant) && grant.WorkerId == workerId)
        {
            End(token);
        }
    }

    /// <summary>Ends every grant of a worker that stopped or died.</summary>
    public void ReleaseWorker(string workerId)
    {
        foreach (var (token, grant) in _grants)
        {
            if (grant.WorkerId == workerId)
            {
                End(token);
            }
        }
    }

    /// <summary>Drops expired grants at most once a second, so a runtime that never releases cannot grow the table.</summary>
    private void SweepExpiredNow()
    {
        var now = time.GetUtcNow();
        var last = Interlocked.Read(ref _lastSweep);
        if (now.UtcTicks - last < TimeSpan.TicksPerSecond || Interlocked.CompareExchange(ref _lastSweep, now.UtcTicks, last) != last)
        {
            return;
        }

        foreach (var (token, grant) in _grants)
        {
            if (now > grant.ExpiresAt)
            {
                End(token);
            }
        }
    }

    private void End(string token)
    {
        if (_grants.TryRemove(token, out _))
        {
            Ended?.Invoke(token);
        }
    }
}
