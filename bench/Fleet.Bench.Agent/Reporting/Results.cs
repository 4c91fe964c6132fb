using Fleet.Bench.Agent.Measurement;
using Fleet.Bench.Agent.Scenarios;
using Fleet.Bench.Agent.Setup;

namespace Fleet.Bench.Agent.Reporting;

/// <summary>Memory of one process after a stretch of steady work, and where its RSS is.</summary>
internal sealed record MemoryReading(string Process, double UptimeSeconds, ProcMemory Memory, IReadOnlyList<(string Kind, long RssKb)> Breakdown)
{
    /// <summary>The window the reading is the highest of (uptime seconds); one reading when <see cref="Samples"/> is 1.</summary>
    public double WindowFromSeconds { get; init; }

    public double WindowToSeconds { get; init; }

    public int Samples { get; init; } = 1;
}

/// <summary>The agent's garbage collections at the end of its memory window, from its /metrics.</summary>
internal sealed record GcCounts(double Gen0, double Gen1, double Gen2, double InducedGen0, double InducedCompactions);

/// <summary>The trimmed agent under one set of runtime settings.</summary>
internal sealed record KnobResult(string Name, string Settings, string Purpose, MemoryReading Memory, AgentWindow Cpu);

/// <summary>An agent's start: seconds and CPU until its first snapshot, then the warm-up (JIT tiering) before measuring.</summary>
internal sealed record AgentStartup(double ReadySeconds, double ReadyCpuMs, double WarmedAtSeconds, double WarmupCpuMs);

/// <summary>One self-contained build of the agent (trimmed JIT, or Native AOT) in its own run: start-up, CPU, memory, smoke check.</summary>
internal sealed class SelfContainedRun(string label, string name)
{
    /// <summary>The publish's label ("trimmed", "aot").</summary>
    public string Label { get; } = label;

    /// <summary>How reports name it ("trimmed self-contained", "Native AOT").</summary>
    public string Name { get; } = name;

    public AgentStartup? Startup { get; set; }

    public AgentWindow? Fast { get; set; }

    /// <summary>Highest RSS reading of its memory window.</summary>
    public MemoryReading? Memory { get; set; }

    /// <summary>Collections it had run by the end of its memory window; null if /metrics had none.</summary>
    public GcCounts? Gc { get; set; }

    public List<SmokeResult> Smoke { get; set; } = [];

    /// <summary>After the smoke check used gRPC, reflection and health once.</summary>
    public MemoryReading? MemoryAfterSmoke { get; set; }
}

/// <summary>Costs of one Fleet cycle derived from the windows: fast, slow refresh alone, and amortised.</summary>
internal sealed record FleetCycleCost(
    double AgentCpuMs, double PostgresCpuMs, double? ExecMs, double? Statements, double WallMsMedian, double WallMsMax)
{
    public double TotalCpuMs => AgentCpuMs + PostgresCpuMs;
}

/// <summary>Everything one run measured.</summary>
internal sealed class BenchResults
{
    public required BenchOptions Options { get; init; }

    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    public string PostgresVersion { get; set; } = string.Empty;

    public string ExporterVersion { get; set; } = string.Empty;

    public TableSetInfo? TableSet { get; set; }

    public List<PublishResult> Publishes { get; } = [];

    public AgentWindow? Fast { get; set; }

    public List<CycleSample> FastSamples { get; set; } = [];

    public AgentWindow? SlowEvery { get; set; }

    /// <summary>The first cycles right after start-up with the slow refresh due every cycle: tier-0 code, as the slow path runs in production.</summary>
    public AgentWindow? SlowEveryCold { get; set; }

    public AgentStartup? FrameworkDependentStartup { get; set; }

    /// <summary>The trimmed self-contained (JIT) agent.</summary>
    public SelfContainedRun? Trimmed { get; set; }

    /// <summary>The Native AOT agent.</summary>
    public SelfContainedRun? Aot { get; set; }

    /// <summary>The self-contained runs that happened, trimmed first.</summary>
    public IEnumerable<SelfContainedRun> SelfContained => new[] { Trimmed, Aot }.OfType<SelfContainedRun>();

    public List<CycleSample> SlowSamples { get; set; } = [];

    public AgentScrapeCost? AgentScrape { get; set; }

    /// <summary>Agent CPU per second with no collection running (timers, background loops): part of every cycle's cost.</summary>
    public double? IdleCpuMsPerSecond { get; set; }

    public ExporterWindow? Exporter { get; set; }

    public int ExporterBackends { get; set; }

    public MemoryReading? FrameworkDependentMemory { get; set; }

    public string LoadAverageAtStart { get; init; } = "?";

    public string LoadAverageAtEnd { get; set; } = "?";

    public MemoryReading? ExporterMemory { get; set; }

    public CoverageReport? Coverage { get; set; }

    public List<KnobResult> Knobs { get; } = [];

    public int FleetSeries { get; set; }

    /// <summary>Age of the slow figures in the last snapshot of the fast window (collected_at - size_as_of).</summary>
    public double? SlowFiguresAgeSeconds { get; set; }

    public TimeSpan Took { get; set; }

    public double Ratio => Options.SlowInterval / Options.Interval;

    public FleetCycleCost? FastCycle => Fast is null
        ? null
        : new FleetCycleCost(
            Fast.AgentCpuPerCycleMs, Fast.PostgresCpuPerCycleMs, Fast.ExecMsPerCycle, Fast.StatementsPerCycle,
            Stats.Median(FastSamples.Select(s => s.DurationMs).ToList()), Stats.Max(FastSamples.Select(s => s.DurationMs).ToList()));

    /// <summary>
    /// The slow refresh alone, as it runs in production (tier-0 code: the first cycles after start-up): the
    /// cold window's cost minus its cycles at the warm fast-cycle cost, per refresh (refreshes counted by the
    /// one session each opens to the other database). An upper bound: the cold window's fast part is
    /// tier-0 too, and all of that excess is charged to the refresh.
    /// </summary>
    public FleetCycleCost? SlowRefresh => SlowRefreshFrom(SlowEveryCold ?? SlowEvery);

    /// <summary>The slow refresh alone once its code is optimised (it runs every cycle in that window).</summary>
    public FleetCycleCost? SlowRefreshWarm => SlowRefreshFrom(SlowEvery);

    private FleetCycleCost? SlowRefreshFrom(AgentWindow? window)
    {
        if (Fast is null || window is null || window.SlowRefreshes == 0)
        {
            return null;
        }

        double refreshes = window.SlowRefreshes;
        double? Extra(double? total, double? perFast) => total is { } t && perFast is { } f ? (t - (window.Cycles * f)) / refreshes : null;
        var slowWalls = SlowSamples.Where(s => s.IncludedSlowRefresh).Select(s => s.DurationMs).ToList();
        var fastWall = FastCycle!.WallMsMedian;
        return new FleetCycleCost(
            Extra(window.AgentCpuMs, Fast.AgentCpuPerCycleMs)!.Value,
            Extra(window.Postgres.ClientCpuMs, Fast.PostgresCpuPerCycleMs)!.Value,
            Extra(window.Postgres.ExecMs, Fast.ExecMsPerCycle),
            Extra(window.Postgres.Statements, Fast.StatementsPerCycle),
            Stats.Median(slowWalls) - fastWall,
            Stats.Max(slowWalls) - fastWall);
    }

    /// <summary>A cycle that also refreshes the slow figures.</summary>
    public FleetCycleCost? CycleWithSlowRefresh => Combine(1.0);

    /// <summary>The fast cycle plus 1/<see cref="Ratio"/> of a slow refresh: the steady per-cycle cost with the default SlowInterval.</summary>
    public FleetCycleCost? Amortised => Combine(1.0 / Ratio);

    /// <summary>
    /// A self-contained build's amortised cycle: its own fast window plus the amortised share of the slow refresh
    /// measured on the framework-dependent agent (the refresh is mostly PostgreSQL's work).
    /// </summary>
    public FleetCycleCost? AmortisedOf(SelfContainedRun run)
    {
        if (run.Fast is not { } w || SlowRefresh is not { } slow)
        {
            return null;
        }

        var share = 1.0 / Ratio;
        return new FleetCycleCost(
            w.AgentCpuPerCycleMs + (share * slow.AgentCpuMs), w.PostgresCpuPerCycleMs + (share * slow.PostgresCpuMs),
            null, null, double.NaN, double.NaN);
    }

    private FleetCycleCost? Combine(double share)
    {
        if (FastCycle is not { } fast || SlowRefresh is not { } slow)
        {
            return null;
        }

        return new FleetCycleCost(
            fast.AgentCpuMs + (share * slow.AgentCpuMs),
            fast.PostgresCpuMs + (share * slow.PostgresCpuMs),
            fast.ExecMs + (share * slow.ExecMs),
            fast.Statements + (share * slow.Statements),
            fast.WallMsMedian + (share * slow.WallMsMedian),
            fast.WallMsMax + (share * slow.WallMsMax));
    }
}
