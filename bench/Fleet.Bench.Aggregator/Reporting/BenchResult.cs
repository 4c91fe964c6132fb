using Fleet.Bench.Aggregator.Measurement;

namespace Fleet.Bench.Aggregator.Reporting;

/// <summary>Everything one run measured.</summary>
internal sealed class BenchResult
{
    public required BenchOptions Options { get; init; }

    public required string Arguments { get; init; }

    public required int Clusters { get; init; }

    /// <summary>Revision of the source tree the aggregator was built from.</summary>
    public required string Source { get; init; }

    public string Target { get; set; } = string.Empty;

    public string? AggregatorDll { get; set; }

    public string GcMode { get; set; } = string.Empty;

    /// <summary>CPU and memory figures are the aggregator's alone (child process).</summary>
    public bool Isolated { get; set; }

    public int Channels { get; set; }

    /// <summary>ESTABLISHED connections on the aggregator's gRPC port at the window start (agents and watches).</summary>
    public int Http2Connections { get; set; }

    public double AverageReportBytes { get; set; }

    public long ConnectedAtStart { get; set; }

    public long ConnectedAtEnd { get; set; }

    public long Welcomed { get; set; }

    public long StreamFailures { get; set; }

    public Dictionary<string, long> Errors { get; set; } = [];

    public long SkippedSlots { get; set; }

    public double WindowSeconds { get; set; }

    public long ReportsSentInWindow { get; set; }

    /// <summary>fleet_ingest_reports_total delta between the scrapes around the window.</summary>
    public long AggregatorReports { get; set; }

    public double AggregatorReportsSeconds { get; set; }

    public long AggregatorConnected { get; set; }

    public long AggregatorStale { get; set; }

    public long EventsDropped { get; set; }

    public List<TimeSpan> ScrapeTimes { get; } = [];

    public CpuTime AggregatorCpu { get; set; }

    public CpuTime? BenchCpu { get; set; }

    /// <summary>Busy share of all cores over the window (0..1).</summary>
    public double MachineBusyFraction { get; set; }

    public long IdleRss { get; set; }

    public long RssEnd { get; set; }

    public long RssMax { get; set; }

    /// <summary>VmHWM: the peak RSS over the aggregator's life (ramp included).</summary>
    public long RssPeak { get; set; }

    public int Threads { get; set; }

    public long BenchRss { get; set; }

    public LatencySummary? Latency { get; set; }

    public LatencySummary? LatencyIngest { get; set; }

    public LatencySummary? LatencyPublish { get; set; }

    public LatencySummary? LatencyDelivery { get; set; }

    public long NegativeSamples { get; set; }

    public long VisibleInWindow { get; set; }

    public long StaleChanges { get; set; }

    public long AlertChanges { get; set; }

    public List<string> WatchFailures { get; } = [];

    public List<long> DashboardChanges { get; set; } = [];

    public LatencySummary ScheduleLag { get; set; } = new(0, 0, 0, 0, 0, 0, 0);

    public LatencySummary WriteTime { get; set; } = new(0, 0, 0, 0, 0, 0, 0);

    public bool AggregatorAlive { get; set; }

    public int? AggregatorExitCode { get; set; }

    public long AggregatorLogLines { get; set; }

    public double ExpectedReportsPerSecond => Options.Agents / Options.Interval.TotalSeconds;

    public double SentPerSecond => WindowSeconds > 0 ? ReportsSentInWindow / WindowSeconds : 0;

    public double IngestedPerSecond => AggregatorReportsSeconds > 0 ? AggregatorReports / AggregatorReportsSeconds : 0;

    /// <summary>Aggregator CPU in cores (1.0 = one core fully busy).</summary>
    public double AggregatorCores => WindowSeconds > 0 ? AggregatorCpu.Total.TotalSeconds / WindowSeconds : 0;

    public double? BenchCores => BenchCpu is { } cpu && WindowSeconds > 0 ? cpu.Total.TotalSeconds / WindowSeconds : null;

    public double CpuMicrosPerReport => IngestedPerSecond > 0 ? AggregatorCores * 1e6 / IngestedPerSecond : 0;

    public long NotVisible => Math.Max(0, ReportsSentInWindow - VisibleInWindow);

    public Verdict Verdict
    {
        get
        {
            var reasons = new List<string>();
            if (ConnectedAtEnd < Options.Agents)
            {
                reasons.Add($"only {ConnectedAtEnd} of {Options.Agents} agents connected");
            }

            if (IngestedPerSecond < 0.98 * ExpectedReportsPerSecond)
            {
                reasons.Add($"ingested {IngestedPerSecond:F0}/s < 98 % of {ExpectedReportsPerSecond:F0}/s");
            }

            if (Options.Watch)
            {
                if (Latency is null || Latency.Count == 0)
                {
                    reasons.Add("no latency samples");
                }
                else if (Latency.P99Ms > Options.TargetP99.TotalMilliseconds)
                {
                    reasons.Add($"p99 {Latency.P99Ms:F0} ms > {Options.TargetP99.TotalMilliseconds:F0} ms");
                }

                if (NotVisible > ReportsSentInWindow / 1000)
                {
                    reasons.Add($"{NotVisible} reports sent in the window never became visible");
                }
            }

            if (!AggregatorAlive)
            {
                reasons.Add("the aggregator died");
            }

            return new Verdict(reasons.Count == 0, reasons);
        }
    }
}

internal sealed record Verdict(bool Met, IReadOnlyList<string> Reasons);
