namespace Fleet.Agent.Link;

/// <summary>
/// Exponential backoff with jitter between reconnect attempts, so a restarted aggregator is not hit by
/// every agent of the region in the same millisecond.
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan min, TimeSpan max, Random random)
{
    /// <summary>How long a welcomed session must have lasted for the next attempt to start from the minimum again.</summary>
    public static readonly TimeSpan StableSession = TimeSpan.FromSeconds(30);

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

    /// <summary>
    /// A session ended after <paramref name="connectedFor"/> (null: it was never welcomed). Only a session that
    /// stayed up for <see cref="StableSession"/> resets the backoff.
    /// </summary>
    public void SessionEnded(TimeSpan? connectedFor)
    {
        if (connectedFor >= StableSession)
        {
            Reset();
        }
    }

    public void Reset() => _attempt = 0;
}
