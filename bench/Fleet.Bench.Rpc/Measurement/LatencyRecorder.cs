using System.Diagnostics;

namespace Fleet.Bench.Rpc.Measurement;

/// <summary>
/// Per-call latencies of one measured phase in a preallocated buffer, so recording allocates nothing.
/// The buffer size is the hard cap on calls: a caller that cannot reserve a slot stops.
/// </summary>
internal sealed class LatencyRecorder(int capacity)
{
    private const long Failed = -1;

    private readonly long[] _ticks = new long[capacity];
    private int _reserved;

    public int Capacity => _ticks.Length;

    /// <summary>Calls reserved so far (each one was or is being made).</summary>
    public int Count => Math.Min(Volatile.Read(ref _reserved), _ticks.Length);

    public bool Capped => Volatile.Read(ref _reserved) >= _ticks.Length;

    public void Reset() => Volatile.Write(ref _reserved, 0);

    /// <summary>Claims the slot of the next call; false once the cap is reached.</summary>
    public bool TryReserve(out int slot)
    {
        slot = Interlocked.Increment(ref _reserved) - 1;
        return slot < _ticks.Length;
    }

    public void Record(int slot, long elapsedTicks) => _ticks[slot] = elapsedTicks;

    public void RecordFailure(int slot) => _ticks[slot] = Failed;

    /// <summary>Summary of the successful calls; call once every caller has finished.</summary>
    public LatencySummary Summarize()
    {
        var count = Count;
        var ok = new long[count];
        var n = 0;
        for (var i = 0; i < count; i++)
        {
            if (_ticks[i] != Failed)
            {
                ok[n++] = _ticks[i];
            }
        }

        if (n == 0)
        {
            return new LatencySummary(0, 0, 0, 0, 0, 0);
        }

        Array.Sort(ok, 0, n);
        double sum = 0;
        for (var i = 0; i < n; i++)
        {
            sum += ok[i];
        }

        double Micros(double ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        double Percentile(double p) => Micros(ok[Math.Min(n - 1, (int)Math.Ceiling(p * n) - 1)]);
        return new LatencySummary(n, Micros(sum / n), Percentile(0.50), Percentile(0.90), Percentile(0.99), Micros(ok[n - 1]));
    }
}

/// <summary>Latency of successful calls in microseconds (nearest-rank percentiles).</summary>
internal sealed record LatencySummary(int Count, double MeanUs, double P50Us, double P90Us, double P99Us, double MaxUs);
