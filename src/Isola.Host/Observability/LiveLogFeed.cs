using System.Collections.Concurrent;
using System.Threading.Channels;
using Isola.Host.Workers;

namespace Isola.Host.Observability;

/// <summary>
/// Functions' console output as it is printed, for whoever follows an app (<c>GET /v1/{app}/logs/stream</c>,
/// which <c>isola dev</c> reads). It stands in front of the <see cref="InvocationRecorder"/> as the workers'
/// output: every line still goes there to be stored. A line is copied to followers only while someone follows,
/// so a node nobody watches pays one read of a counter per line.
/// </summary>
internal sealed class LiveLogFeed(InvocationRecorder recorder) : IWorkerOutput
{
    /// <summary>Lines held for one follower that reads slower than functions print; past it, lines are dropped and counted.</summary>
    public const int FollowerQueueLines = 10_000;

    // Which function each live worker runs: attached before its code loads (so top-level output is named too),
    // detached when its process ends. As many entries as live workers.
    private readonly ConcurrentDictionary<string, WorkerFunctionInfo> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Follower, byte> _followers = new();
    private int _followerCount;

    public void OnWorkerLoading(string workerId, WorkerFunctionInfo function) => _workers[workerId] = function;

    public void OnWorkerExited(string workerId) => _workers.TryRemove(workerId, out _);

    /// <summary>Starts following the console output of <paramref name="appId"/>'s functions (one, when <paramref name="function"/> is given).</summary>
    public Follower Follow(string appId, string? function)
    {
        var follower = new Follower(this, appId, function);
        _followers[follower] = 0;
        Interlocked.Increment(ref _followerCount);
        return follower;
    }

    public void OnLog(string workerId, string? invocationId, string level, string message, DateTimeOffset timestamp)
    {
        recorder.OnLog(workerId, invocationId, level, message, timestamp);
        if (Volatile.Read(ref _followerCount) == 0 || !_workers.TryGetValue(workerId, out var function))
        {
            return;
        }

        if (message.Length > InvocationRecorder.MaxLineLength)
        {
            message = message[..InvocationRecorder.MaxLineLength] + "…";
        }

        var line = new LiveLogLine(function.App, function.Name, function.Version, invocationId, level, message, timestamp);
        foreach (var follower in _followers.Keys)
        {
            follower.Offer(line);
        }
    }

    private void Unfollow(Follower follower)
    {
        if (_followers.TryRemove(follower, out _))
        {
            Interlocked.Decrement(ref _followerCount);
        }
    }

    /// <summary>One reader of the feed; dispose it to stop.</summary>
    internal sealed class Follower(LiveLogFeed feed, string appId, string? function) : IDisposable
    {
        private readonly Channel<LiveLogLine> _lines = Channel.CreateBounded<LiveLogLine>(new BoundedChannelOptions(FollowerQueueLines)
        {
            FullMode = BoundedChannelFullMode.Wait, // with TryWrite: a full queue refuses the line, so it is counted
            SingleReader = true,
        });

        private long _dropped;

        public ChannelReader<LiveLogLine> Lines => _lines.Reader;

        /// <summary>Lines not delivered because this follower's queue was full; read and reset.</summary>
        public long TakeDropped() => Interlocked.Exchange(ref _dropped, 0);

        internal void Offer(LiveLogLine line)
        {
            if (line.App == appId && (function is null || line.Function == function) && !_lines.Writer.TryWrite(line))
            {
                Interlocked.Increment(ref _dropped);
            }
        }

        public void Dispose()
        {
            feed.Unfollow(this);
            _lines.Writer.TryComplete();
        }
    }
}

/// <summary>One console line of a running function; <see cref="InvocationId"/> is null for its top-level code.</summary>
internal sealed record LiveLogLine(string App, string Function, int Version, string? InvocationId, string Level, string Message, DateTimeOffset Timestamp);
