namespace Fleet.Agent.Collection;

/// <summary>
/// What the collection loop did since start, for the agent's own metrics: cycles run, cycles that failed as a
/// whole, and how long the latest took. Written by <see cref="CollectionLoop"/> only; read by /metrics.
/// </summary>
public sealed class CollectionStats
{
    private long _cycles;
    private long _failures;
    private long _lastDurationTicks = -1;

    public ulong Cycles => (ulong)Interlocked.Read(ref _cycles);

    public ulong Failures => (ulong)Interlocked.Read(ref _failures);

    /// <summary>Null before the first cycle ended.</summary>
    public TimeSpan? LastDuration => Interlocked.Read(ref _lastDurationTicks) is >= 0 and var ticks ? TimeSpan.FromTicks(ticks) : null;

    public void Record(TimeSpan duration, bool failed)
    {
        Interlocked.Exchange(ref _lastDurationTicks, Math.Max(0, duration.Ticks));
        if (failed)
        {
            Interlocked.Increment(ref _failures);
        }

        Interlocked.Increment(ref _cycles);
    }
}
