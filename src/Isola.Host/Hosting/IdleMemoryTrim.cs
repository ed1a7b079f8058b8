using System.Runtime.InteropServices;
using Isola.Host.Observability;

namespace Isola.Host.Hosting;

/// <summary>
/// Gives back to the OS the memory a busy spell left the host holding, once the node has gone quiet
/// (decision 031): one compacting full collection that decommits the GC's free regions, then glibc's
/// <c>malloc_trim</c> for the free pages of its arenas. Neither is returned on its own soon: after a density run
/// the host held about 50 MB of committed-but-free GC heap and 15 MB of free malloc pages.
/// Quiet means no invocation started (the supervisor's count of slot requests, which every call, cron tick and event
/// delivery makes) and the host allocated little (a deploy or a burst of API calls allocates megabytes; stopping idle
/// workers, timers and probes far less), so nothing on the request path counts anything for it.
/// </summary>
internal sealed partial class IdleMemoryTrim : IHostedService, IAsyncDisposable
{
    /// <summary>
    /// Allocations per check from which the node counts as busy without invocations (a burst of deploys): a node
    /// with 188 idle workers allocates about 120 KB a second (timers, the scaler, the reaper), one stopping its idle
    /// workers after a busy spell several MB per check; that must not put off the trim.
    /// </summary>
    public const long BusyBytesPerCheck = 32 << 20;

    /// <summary>Growth of the resident set since the last trim (or the start) that makes another worth one full collection.</summary>
    public const long WorthTrimmingBytes = 16 << 20;

    private readonly TimeSpan _quietFor;
    private readonly TimeProvider _time;
    private readonly ILogger<IdleMemoryTrim> _logger;
    private readonly Func<long> _invocations;
    private readonly Func<long> _allocatedBytes;
    private readonly Func<long> _residentBytes;
    private readonly Action _trim;
    private static bool _mallocTrimMissing;
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private long _lastAllocated;
    private long _lastInvocations;
    private long _residentAfterTrim;
    private DateTimeOffset _busyAt;

    public IdleMemoryTrim(IsolaOptions options, Workers.WorkerSupervisor supervisor, TimeProvider time, ILogger<IdleMemoryTrim> logger)
        : this(options.IdleTrimAfter, time, logger, () => supervisor.SlotsRequested, () => GC.GetTotalAllocatedBytes(), () => Environment.WorkingSet, TrimProcess)
    {
    }

    /// <summary>For tests: the counters and the trim itself are given.</summary>
    internal IdleMemoryTrim(TimeSpan quietFor, TimeProvider time, ILogger<IdleMemoryTrim> logger, Func<long> invocations, Func<long> allocatedBytes, Func<long> residentBytes,
        Action trim)
    {
        _residentBytes = residentBytes;
        _invocations = invocations;
        _quietFor = quietFor;
        _time = time;
        _logger = logger;
        _allocatedBytes = allocatedBytes;
        _trim = trim;
    }

    /// <summary>Trims done since the node started.</summary>
    public int Trims { get; private set; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_quietFor <= TimeSpan.Zero)
        {
            return Task.CompletedTask; // ISOLA_IDLE_TRIM_AFTER=0: never
        }

        _lastAllocated = _allocatedBytes();
        _residentAfterTrim = _residentBytes();
        _lastInvocations = _invocations();
        _busyAt = _time.GetUtcNow();
        // Half the quiet period between checks: a trim comes between one and one and a half quiet periods after the last work.
        var period = _quietFor / 2;
        _timer = _time.CreateTimer(_ => Check(), null, period, period);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }
    }

    /// <summary>One check: a busy interval moves the quiet period's start; a quiet node whose memory grew since its last trim is trimmed.</summary>
    internal void Check()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var allocated = _allocatedBytes();
            var invocations = _invocations();
            var busy = invocations != _lastInvocations || allocated - _lastAllocated >= BusyBytesPerCheck;
            _lastAllocated = allocated;
            _lastInvocations = invocations;
            if (busy)
            {
                _busyAt = now;
                return;
            }

            if (now - _busyAt < _quietFor)
            {
                return;
            }

            var before = _residentBytes();
            if (before - _residentAfterTrim < WorthTrimmingBytes)
            {
                return;
            }

            _trim();
            _lastAllocated = _allocatedBytes();
            _residentAfterTrim = _residentBytes();
            Trims++;
            LogTrimmed(_logger, before / (1024 * 1024), _residentAfterTrim / (1024 * 1024));
        }
    }

    private static void TrimProcess()
    {
        // Aggressive: compacts and decommits the free regions and the gen0 budget the last busy spell grew.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (_mallocTrimMissing || !OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            // Native memory freed by the runtime, sockets and the JIT stays in glibc's per-thread arenas otherwise.
            MallocTrim(0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            _mallocTrimMissing = true; // musl: no malloc_trim, and no arenas to trim
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    [LoggerMessage(EventId = LogEvents.IdleMemoryTrimmed, Level = LogLevel.Debug, Message = "The node went quiet: memory trimmed, working set {BeforeMb} MB → {AfterMb} MB")]
    private static partial void LogTrimmed(ILogger logger, long beforeMb, long afterMb);
}
