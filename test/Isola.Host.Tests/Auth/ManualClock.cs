namespace Isola.Host.Tests.Auth;

/// <summary>A clock that moves only when told, for leeway and key-set refresh tests.</summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
