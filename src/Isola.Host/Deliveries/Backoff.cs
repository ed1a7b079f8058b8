namespace Isola.Host.Deliveries;

/// <summary>Delays between attempts: exponential from the first retry's delay, with jitter so failures that came together do not retry together.</summary>
internal static class Backoff
{
    /// <summary>
    /// The wait after failed attempt <paramref name="attempt"/> (1-based): <paramref name="firstMs"/> doubled per
    /// earlier retry, capped at <paramref name="max"/>, then drawn from its upper half.
    /// </summary>
    public static TimeSpan Delay(int firstMs, int attempt, TimeSpan max)
    {
        var exponential = firstMs * Math.Pow(2, Math.Min(attempt - 1, 40));
        var capped = Math.Min(exponential, max.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped / 2 + (Random.Shared.NextDouble() * capped / 2));
    }
}
