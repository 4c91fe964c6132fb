using System.Collections.Concurrent;
using Fleet.Bench.Aggregator.Measurement;

namespace Fleet.Bench.Aggregator.Simulation;

/// <summary>What the simulated agents did, shared by all of them (lock-free).</summary>
internal sealed class LoadCounters
{
    private long _connected;
    private long _welcomed;
    private long _reportsSent;
    private long _bytesSent;
    private long _streamFailures;
    private long _skippedSlots;
    private long _windowStartTicks = long.MaxValue;
    private long _windowEndTicks = long.MaxValue;
    private long _windowReports;

    /// <summary>Streams welcomed and still open now.</summary>
    public long Connected => Interlocked.Read(ref _connected);

    /// <summary>Welcomes received (reconnects included).</summary>
    public long Welcomed => Interlocked.Read(ref _welcomed);

    public long ReportsSent => Interlocked.Read(ref _reportsSent);

    /// <summary>Serialized AgentMessage bytes of the reports sent (without gRPC and HTTP/2 framing).</summary>
    public long BytesSent => Interlocked.Read(ref _bytesSent);

    public long StreamFailures => Interlocked.Read(ref _streamFailures);

    /// <summary>Report slots an agent skipped because it was more than one interval late (generator overloaded).</summary>
    public long SkippedSlots => Interlocked.Read(ref _skippedSlots);

    /// <summary>Reports whose send time (collected_at) falls in the measured window.</summary>
    public long WindowReports => Interlocked.Read(ref _windowReports);

    /// <summary>How late agents sent their reports against their schedule, during the window.</summary>
    public LatencyHistogram ScheduleLag { get; } = new();

    /// <summary>Time WriteAsync of a report took (HTTP/2 flow control and the generator's own queueing), during the window.</summary>
    public LatencyHistogram WriteTime { get; } = new();

    /// <summary>Failures by kind ("Unavailable: ...", "Cancelled: ..."), first message kept.</summary>
    public ConcurrentDictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

    public long WindowStartTicks => Interlocked.Read(ref _windowStartTicks);

    public long WindowEndTicks => Interlocked.Read(ref _windowEndTicks);

    public void OpenWindow(DateTime start) => Interlocked.Exchange(ref _windowStartTicks, start.Ticks);

    public void CloseWindow(DateTime end) => Interlocked.Exchange(ref _windowEndTicks, end.Ticks);

    public bool InWindow(long ticks) => ticks >= WindowStartTicks && ticks < WindowEndTicks;

    public void Welcome()
    {
        Interlocked.Increment(ref _welcomed);
        Interlocked.Increment(ref _connected);
    }

    public void Disconnected() => Interlocked.Decrement(ref _connected);

    public void Sent(long sentTicks, int bytes, TimeSpan lateBy, TimeSpan writeTime)
    {
        Interlocked.Increment(ref _reportsSent);
        Interlocked.Add(ref _bytesSent, bytes);
        if (InWindow(sentTicks))
        {
            Interlocked.Increment(ref _windowReports);
            ScheduleLag.Record(lateBy);
            WriteTime.Record(writeTime);
        }
    }

    public void Skipped(long slots) => Interlocked.Add(ref _skippedSlots, slots);

    public void Failed(string kind)
    {
        Interlocked.Increment(ref _streamFailures);
        Errors.AddOrUpdate(kind, 1, (_, n) => n + 1);
    }
}
