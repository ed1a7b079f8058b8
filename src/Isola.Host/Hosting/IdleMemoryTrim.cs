using System.Runtime.InteropServices;
using Isola.Host.Observability;

namespace Isola.Host.Hosting;

/// <summary>
/// Gives back to the OS the memory a busy spell left the host holding, once the node has gone quiet
/// (decision 031): one compacting full collection that decommits the GC's free regions, then glibc's
/// <c>malloc_trim</c> for the free pages of its arenas. Neither is returned on its own soon: after a density run
/// the host held about 50 MB of committed-but-free GC heap and 15 MB of free malloc pages.
/// Quiet is read from the host's own allocations (every request, deploy and call allocates), so nothing on the
/// request path counts anything for it.
/// </summary>
internal sealed partial class IdleMemoryTrim : IHostedService, IAsyncDisposable
{
    /// <summary>Allocations per check below which the node counts as quiet: an idle node's timers allocate a few KB a second.</summary>
    public const long QuietBytesPerCheck = 1 << 20;

    /// <summary>Allocations since the last trim that make another worth one full collection.</summary>
    public const long WorthTrimmingBytes = 32 << 20;

    private readonly TimeSpan _quietFor;
    private readonly TimeProvider _time;
    private readonly ILogger<IdleMemoryTrim> _logger;
    private readonly Func<long> _allocatedBytes;
    private readonly Action _trim;
    private readonly Lock _gate = new();
    private ITimer? _timer;
    private long _lastAllocated;
    private long _allocatedAtTrim;
    private DateTimeOffset _busyAt;

    public IdleMemoryTrim(IsolaOptions options, TimeProvider time, ILogger<IdleMemoryTrim> logger)
        : this(options.IdleTrimAfter, time, logger, () => GC.GetTotalAllocatedBytes(), TrimProcess)
    {
    }

    /// <summary>For tests: the allocation counter and the trim itself are given.</summary>
    internal IdleMemoryTrim(TimeSpan quietFor, TimeProvider time, ILogger<IdleMemoryTrim> logger, Func<long> allocatedBytes, Action trim)
    {
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

        _lastAllocated = _allocatedAtTrim = _allocatedBytes();
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

    /// <summary>One check: a busy interval moves the quiet period's start; a quiet node that worked since its last trim is trimmed.</summary>
    internal void Check()
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var allocated = _allocatedBytes();
            var busy = allocated - _lastAllocated >= QuietBytesPerCheck;
            _lastAllocated = allocated;
            if (busy)
            {
                _busyAt = now;
                return;
            }

            if (now - _busyAt < _quietFor || allocated - _allocatedAtTrim < WorthTrimmingBytes)
            {
                return;
            }

            var before = Environment.WorkingSet;
            _trim();
            _allocatedAtTrim = _allocatedBytes();
            _lastAllocated = _allocatedAtTrim;
            Trims++;
            LogTrimmed(_logger, before / (1024 * 1024), Environment.WorkingSet / (1024 * 1024));
        }
    }

    private static bool _mallocTrimMissing;

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
