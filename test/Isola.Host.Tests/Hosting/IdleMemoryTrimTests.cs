using Isola.Host.Hosting;
using Isola.Host.Tests.Auth;
using Microsoft.Extensions.Logging.Abstractions;

namespace Isola.Host.Tests.Hosting;

/// <summary>
/// The host gives its free memory back once it has been quiet after work (decision 031): one trim per quiet spell,
/// none while invocations or large allocations go on, none for a node whose memory did not grow.
/// </summary>
public sealed class IdleMemoryTrimTests : IAsyncLifetime
{
    // An hour: the real timer StartAsync creates never fires during a test; the checks are called here.
    private static readonly TimeSpan QuietFor = TimeSpan.FromHours(1);
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));
    private readonly IdleMemoryTrim _trim;
    private long _invocations;
    private long _allocated;
    private long _resident = 100 << 20;
    private int _trims;

    public IdleMemoryTrimTests() =>
        _trim = new IdleMemoryTrim(QuietFor, _clock, NullLogger<IdleMemoryTrim>.Instance, () => _invocations, () => _allocated, () => _resident, () =>
        {
            _trims++;
            _resident -= IdleMemoryTrim.WorthTrimmingBytes; // what the collection and malloc_trim gave back
        });

    public Task InitializeAsync() => _trim.StartAsync(CancellationToken.None);

    public Task DisposeAsync() => _trim.DisposeAsync().AsTask();

    [Fact]
    public void A_node_quiet_after_work_is_trimmed_once()
    {
        Work(invocations: 600, bytes: 1 << 30);
        CheckAfter(QuietFor / 2);
        Assert.Equal(0, _trims); // quiet, but not for long enough yet

        CheckAfter(QuietFor / 2);
        Assert.Equal(1, _trims);

        CheckAfter(QuietFor);
        CheckAfter(QuietFor);
        Assert.Equal(1, _trims); // nothing new to give back
        Assert.Equal(1, _trim.Trims);

        Work(invocations: 1, bytes: 1 << 20);
        CheckAfter(QuietFor);
        Assert.Equal(2, _trims); // the next quiet spell after more work
    }

    [Fact]
    public void Invocations_keep_a_node_from_trimming_however_little_they_allocate() =>
        AssertTrimmedOnlyAfter(busyCheck: () => _invocations++);

    [Fact]
    public void Allocating_without_invocations_counts_as_work() =>
        // A burst of deploys: no invocation, megabytes allocated in each check.
        AssertTrimmedOnlyAfter(busyCheck: () => _allocated += IdleMemoryTrim.BusyBytesPerCheck);

    [Fact]
    public void A_quiet_node_whose_memory_did_not_grow_is_left_alone()
    {
        _invocations += 10;
        CheckAfter(TimeSpan.FromSeconds(1));
        _resident += IdleMemoryTrim.WorthTrimmingBytes / 2;
        for (var i = 0; i < 4; i++)
        {
            _allocated += IdleMemoryTrim.BusyBytesPerCheck / 4; // an idle node's timers and probes
            CheckAfter(QuietFor);
        }

        Assert.Equal(0, _trims);
    }

    /// <summary>Six checks a quiet period apart, each after <paramref name="busyCheck"/>: no trim; the first quiet check after them: one.</summary>
    private void AssertTrimmedOnlyAfter(Action busyCheck)
    {
        _resident += IdleMemoryTrim.WorthTrimmingBytes;
        for (var i = 0; i < 6; i++)
        {
            busyCheck();
            CheckAfter(QuietFor);
        }

        Assert.Equal(0, _trims);
        CheckAfter(QuietFor);
        Assert.Equal(1, _trims);
    }

    private void Work(long invocations, long bytes)
    {
        _invocations += invocations;
        _allocated += bytes;
        _resident += IdleMemoryTrim.WorthTrimmingBytes;
        CheckAfter(TimeSpan.FromSeconds(1));
    }

    private void CheckAfter(TimeSpan wait)
    {
        _clock.Advance(wait);
        _trim.Check();
    }
}
