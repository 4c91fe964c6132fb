namespace Fleet.Agent.Link;

/// <summary>
/// Exponential backoff with jitter between reconnect attempts, so a restarted aggregator is not hit by
/// every agent of the region in the same millisecond.
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan min, TimeSpan max, Random random)
{
    private int _attempt;

    /// <summary>The delay before the next attempt: min·2^n capped at max, then a uniform pick in [half, full].</summary>
    public TimeSpan Next()
    {
        var exponent = Math.Min(_attempt, 30);
        _attempt++;
        var ceiling = Math.Min(max.Ticks, min.Ticks * (1L << Math.Min(exponent, 20)));
        var jittered = (ceiling / 2) + (long)(random.NextDouble() * (ceiling / 2));
        return TimeSpan.FromTicks(Math.Max(jittered, min.Ticks / 2));
    }

    public void Reset() => _attempt = 0;
}
