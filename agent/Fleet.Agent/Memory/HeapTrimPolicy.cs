namespace Fleet.Agent.Memory;

/// <summary>What the runtime reports at one tick: time since the agent started, bytes allocated so far, gen0 collections so far.</summary>
internal readonly record struct HeapReading(TimeSpan Uptime, long AllocatedBytes, int Gen0Collections);

/// <summary>What <see cref="HeapTrimPolicy"/> asks for at a tick.</summary>
internal enum HeapAction
{
    None,

    /// <summary>A gen0 collection: the budget since the last one is spent.</summary>
    CollectGen0,

    /// <summary>A full, compacting collection that also returns free memory to the OS.</summary>
    Compact,
}

/// <summary>
/// Decides when the agent collects garbage itself (pure; the caller does the collecting). A workstation GC
/// gives gen0 an allocation budget sized from the CPU's cache, 16 MB with a 32 MB L3, and the agent allocates
/// about 80 KB a second: left alone the heap would fill that budget over minutes and stay resident at that
/// size. A small budget of our own keeps the young heap at about a megabyte, and a compaction now and then
/// (first <see cref="FirstCompaction"/> after start, when start-up's garbage is dead) hands freed regions back.
/// Both are cheap for a heap this small: a gen0 collection every few seconds, a full one every few minutes.
/// </summary>
internal sealed class HeapTrimPolicy
{
    /// <summary>When the first compaction runs: start-up (configuration, DI, Kestrel, the first cycles and slow refresh) is over by then.</summary>
    public static readonly TimeSpan FirstCompaction = TimeSpan.FromSeconds(30);

    private readonly long _gen0Budget;
    private readonly TimeSpan _compactInterval;
    private TimeSpan _nextCompaction;
    private int _gen0Seen = -1;
    private long _allocatedAtLastGen0;

    /// <param name="gen0Budget">Bytes allocated since the last gen0 collection that trigger one; 0 leaves gen0 to the runtime.</param>
    /// <param name="compactInterval">Time between compactions after the first; zero: never compact.</param>
    public HeapTrimPolicy(long gen0Budget, TimeSpan compactInterval)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(gen0Budget);
        ArgumentOutOfRangeException.ThrowIfLessThan(compactInterval, TimeSpan.Zero);
        _gen0Budget = gen0Budget;
        _compactInterval = compactInterval;
        _nextCompaction = compactInterval == TimeSpan.Zero ? TimeSpan.MaxValue
            : compactInterval < FirstCompaction ? compactInterval
            : FirstCompaction;
    }

    /// <summary>False when both mechanisms are off: the caller need not tick at all.</summary>
    public bool Enabled => _gen0Budget > 0 || _compactInterval > TimeSpan.Zero;

    public HeapAction Decide(HeapReading reading)
    {
        // Any gen0 collection, the runtime's or ours, starts a new budget.
        if (reading.Gen0Collections != _gen0Seen)
        {
            _gen0Seen = reading.Gen0Collections;
            _allocatedAtLastGen0 = reading.AllocatedBytes;
        }

        if (reading.Uptime >= _nextCompaction)
        {
            _nextCompaction = reading.Uptime + _compactInterval;
            return HeapAction.Compact;
        }

        return _gen0Budget > 0 && reading.AllocatedBytes - _allocatedAtLastGen0 >= _gen0Budget
            ? HeapAction.CollectGen0
            : HeapAction.None;
    }
}
