namespace Fleet.Agent.Collection;

/// <summary>
/// Whether the node's storage completes writes: the storage probe records when its outstanding write
/// started; the collection marks snapshots and the self-fencing loop decides on it. A write outstanding
/// longer than the stall timeout is a stall (a hung disk, a frozen filesystem, a lost network volume): the
/// server's reads and pings may still be answered from memory while every commit waits. Times are
/// <see cref="TimeProvider.GetTimestamp"/> values (monotonic); thread-safe.
/// </summary>
public sealed class StorageHealth(TimeProvider time)
{
    private readonly Lock _lock = new();
    private long? _writeStartedAt;
    private string _path = string.Empty;

    /// <summary>How long a write may be outstanding before it counts as a stall; zero: never (probe off).</summary>
    public TimeSpan StallTimeout { get; init; }

    /// <summary>The file the outstanding write goes to (empty when none).</summary>
    public string Path
    {
        get
        {
            lock (_lock)
            {
                return _path;
            }
        }
    }

    /// <summary>Records the probe's outstanding write (its start as a timestamp, and its file), or none.</summary>
    public void Record(long? writeStartedAt, string path)
    {
        lock (_lock)
        {
            (_writeStartedAt, _path) = (writeStartedAt, writeStartedAt is null ? string.Empty : path);
        }
    }

    /// <summary>How long the outstanding write has waited, once that is at least the stall timeout; zero otherwise.</summary>
    public TimeSpan StalledFor()
    {
        lock (_lock)
        {
            if (StallTimeout <= TimeSpan.Zero || _writeStartedAt is not { } started)
            {
                return TimeSpan.Zero;
            }

            var waited = time.GetElapsedTime(started);
            return waited >= StallTimeout ? waited : TimeSpan.Zero;
        }
    }

    /// <summary>The text reported as the snapshot's postgres_error during a stall.</summary>
    public static string Describe(string path, TimeSpan stalledFor) =>
        $"the storage has not completed a write to {path} for {stalledFor.TotalMilliseconds:F0} ms (stalled): PostgreSQL may answer reads but its commits wait";
}
