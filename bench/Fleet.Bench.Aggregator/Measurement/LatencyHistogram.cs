namespace Fleet.Bench.Aggregator.Measurement;

/// <summary>
/// A lock-free latency histogram: log-spaced buckets 1 % wide from 1 µs to ~100 s, so percentiles are
/// within 1 % of the true value. Safe to record from many threads at once.
/// </summary>
internal sealed class LatencyHistogram
{
    private const double Growth = 1.01;
    private static readonly double LogGrowth = Math.Log(Growth);
    private static readonly int BucketCount = (int)Math.Ceiling(Math.Log(100_000_000) / LogGrowth) + 2;

    private readonly long[] _buckets = new long[BucketCount];
    private long _count;
    private long _maxMicros;
    private long _sumMicros;
    private long _negative;

    public long Count => Interlocked.Read(ref _count);

    /// <summary>Samples below zero (clock steps, or events timestamped after they were seen); counted as 0.</summary>
    public long Negative => Interlocked.Read(ref _negative);

    public double MaxMs => Interlocked.Read(ref _maxMicros) / 1000.0;

    public double MeanMs => Count == 0 ? 0 : Interlocked.Read(ref _sumMicros) / 1000.0 / Count;

    public void Record(TimeSpan value) => RecordMicros((long)(value.Ticks / 10.0));

    public void RecordTicks(long ticks) => RecordMicros(ticks / 10);

    public void RecordMicros(long micros)
    {
        if (micros < 0)
        {
            Interlocked.Increment(ref _negative);
            micros = 0;
        }

        var index = micros <= 1 ? 0 : Math.Min(BucketCount - 1, (int)(Math.Log(micros) / LogGrowth) + 1);
        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicros, micros);
        var max = Interlocked.Read(ref _maxMicros);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxMicros, micros, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>The value at <paramref name="percentile"/> (0..100) in milliseconds; 0 when empty.</summary>
    public double PercentileMs(double percentile)
    {
        var count = Count;
        if (count == 0)
        {
            return 0;
        }

        var rank = (long)Math.Ceiling(percentile / 100.0 * count);
        rank = Math.Clamp(rank, 1, count);
        long seen = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            seen += Interlocked.Read(ref _buckets[i]);
            if (seen >= rank)
            {
                // Upper edge of the bucket, capped by the largest sample.
                var upperMicros = i == 0 ? 1.0 : Math.Pow(Growth, i);
                return Math.Min(upperMicros / 1000.0, MaxMs);
            }
        }

        return MaxMs;
    }

    public LatencySummary Summarize() => new(Count, PercentileMs(50), PercentileMs(90), PercentileMs(99), PercentileMs(99.9), MaxMs, MeanMs);
}

/// <summary>Percentiles of one histogram, in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs, double MeanMs);
