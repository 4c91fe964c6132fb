namespace Fleet.Agent.Memory;

/// <summary>
/// What the process reports at one tick: time since the agent started, bytes allocated so far, gen0
/// collections so far, and its resident memory (0 when unknown).
/// </summary>
internal readonly record struct HeapReading(TimeSpan Uptime, long AllocatedBytes, int Gen0Collections, long ResidentBytes = 0);

/// <summary>What <see cref="HeapTrimPolicy"/> asks for at a tick.</summary>
internal enum HeapAction
{
    None,

    /// <summary>A gen0 collection: the budget since the last one is spent.</summary>
    CollectGen0,

    /// <summary>A full, compacting collection, then free native memory handed back to the OS.</summary>
    Compact,
}

/// <summary>
/// Decides when the agent collects garbage itself (pure; the caller does the collecting). A workstation GC
/// gives gen0 an allocation budget sized from the CPU's cache, 16 MB with a 32 MB L3, and the agent allocates
/// about 80 KB a second: left alone the heap would fill that budget over minutes and stay resident at that
/// size. A small budget of our own keeps the young heap at about a megabyte. A compaction hands freed heap
/// regions and free native memory back: first <see cref="FirstCompaction"/> after start, when start-up's
/// garbage is dead, then every compaction interval, and also as soon as resident memory has grown by the
/// trim threshold since the last one (a slow refresh leaves ~15 MB of free native memory behind). All are
/// cheap for a heap this small: a gen0 collection every few seconds, a full one every few minutes.
/// </summary>
internal sealed class HeapTrimPolicy
{
    /// <summary>When the first compaction runs: start-up (configuration, DI, Kestrel, the first cycles and slow refresh) is over by then.</summary>
    public static readonly TimeSpan FirstCompaction = TimeSpan.FromSeconds(30);

    private readonly long _gen0Budget;
    private readonly TimeSpan _compactInterval;
    private readonly long _trimGrowth;
    private TimeSpan _nextCompaction;
    private bool _compacted;
    private bool _rebase;
    private long _residentAfterCompaction;
    private int _gen0Seen = -1;
    private long _allocatedAtLastGen0;

    /// <param name="gen0Budget">Bytes allocated since the last gen0 collection that trigger one; 0 leaves gen0 to the runtime.</param>
    /// <param name="compactInterval">Time between compactions after the first; zero: never compact.</param>
    /// <param name="trimGrowth">Growth of resident memory since the last compaction that triggers one at once; 0: only on schedule.</param>
    public HeapTrimPolicy(long gen0Budget, TimeSpan compactInterval, long trimGrowth = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(gen0Budget);
        ArgumentOutOfRangeException.ThrowIfLessThan(compactInterval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(trimGrowth);
        _gen0Budget = gen0Budget;
        _compactInterval = compactInterval;
        _trimGrowth = compactInterval == TimeSpan.Zero ? 0 : trimGrowth;
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

        // The first reading after a compaction is what it left: growth is measured from there.
        if (_rebase)
        {
            _rebase = false;
            _residentAfterCompaction = reading.ResidentBytes;
        }

        if (reading.Uptime >= _nextCompaction || GrewPastThreshold(reading))
        {
            _nextCompaction = reading.Uptime + _compactInterval;
            _compacted = true;
            _rebase = true;
            return HeapAction.Compact;
        }

        return _gen0Budget > 0 && reading.AllocatedBytes - _allocatedAtLastGen0 >= _gen0Budget
            ? HeapAction.CollectGen0
            : HeapAction.None;
    }

    // Only after the first scheduled compaction: start-up's growth is expected and that compaction handles it.
    private bool GrewPastThreshold(HeapReading reading) =>
        _trimGrowth > 0 && _compacted && _residentAfterCompaction > 0 && reading.ResidentBytes - _residentAfterCompaction >= _trimGrowth;
}
