using System.Diagnostics;
using Fleet.Bench.Agent.Measurement;
using Fleet.Bench.Agent.Processes;
using Fleet.Bench.Agent.Reporting;
using Fleet.Bench.Agent.Setup;

namespace Fleet.Bench.Agent.Scenarios;

/// <summary>One collection cycle as /metrics showed it.</summary>
internal sealed record CycleSample(double CollectedAt, double DurationMs, bool IncludedSlowRefresh, double? SizesAsOf, double? TablesAsOf);

/// <summary>
/// CPU over a window of the agent's normal collection loop (a cycle every Collection:Interval). The window
/// lasts a whole number of intervals, so it holds that many cycle starts; per-cycle figures divide by the
/// window's length in intervals, so the agent's idle cost between cycles (timers, GC) is included.
/// </summary>
internal sealed record AgentWindow(double Seconds, double Cycles, int CyclesObserved, double AgentCpuMs, PostgresCost Postgres)
{
    public double AgentCpuPerCycleMs => AgentCpuMs / Cycles;

    public double PostgresCpuPerCycleMs => Postgres.ClientCpuMs / Cycles;

    public double? ExecMsPerCycle => Postgres.ExecMs / Cycles;

    public double? StatementsPerCycle => Postgres.Statements / Cycles;

    /// <summary>Slow refreshes in the window: each opens exactly one short-lived session to the other database (postgres).</summary>
    public long SlowRefreshes => Postgres.ConnectionsByDatabase.GetValueOrDefault("postgres");

    /// <summary>Connections opened to the agent's own database (0 expected: one long-lived session).</summary>
    public long SessionsOpenedToOwnDatabase => Postgres.ConnectionsByDatabase.GetValueOrDefault(BenchPostgres.Database);
}

/// <summary>Cost of serving GET /metrics from the agent (it renders the latest snapshot; PostgreSQL is not touched).</summary>
internal sealed record AgentScrapeCost(int Scrapes, double CpuMsPerScrape, double WallMsMedian, int Series, int Bytes);

internal static class AgentMeasurements
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <summary>The agent's garbage collections so far (fleet_agent_gc_*), or null when its /metrics has none.</summary>
    public static async Task<GcCounts?> GcCountsAsync(AgentProcess agent, CancellationToken cancellationToken)
    {
        var metrics = await agent.ScrapeAsync(cancellationToken);
        return metrics.Value("fleet_agent_gc_collections_total", "generation=\"0\"") is { } gen0
            ? new GcCounts(
                gen0,
                metrics.Value("fleet_agent_gc_collections_total", "generation=\"1\"") ?? 0,
                metrics.Value("fleet_agent_gc_collections_total", "generation=\"2\"") ?? 0,
                metrics.Value("fleet_agent_gc_induced_total", "kind=\"gen0\"") ?? 0,
                metrics.Value("fleet_agent_gc_induced_total", "kind=\"compact\"") ?? 0)
            : null;
    }

    public static async Task<AgentWindow> CpuWindowAsync(
        AgentProcess agent, PostgresProbe probe, int postmasterPid, int cycles, CancellationToken cancellationToken)
    {
        var interval = agent.Settings.Interval;
        var first = (await agent.ScrapeAsync(cancellationToken)).Value("fleet_agent_snapshot_timestamp_seconds") ?? 0;
        var postgres = await PostgresWindow.BeginAsync(probe, postmasterPid, cancellationToken);
        var start = ProcFs.ReadCpu(agent.Pid) ?? throw new InvalidOperationException("agent is gone");
        var stopwatch = Stopwatch.StartNew();
        await Task.Delay(interval * cycles, cancellationToken);
        var end = ProcFs.ReadCpu(agent.Pid) ?? throw new InvalidOperationException($"agent exited:{Environment.NewLine}{agent.OutputTail()}");
        var elapsed = stopwatch.Elapsed;
        await postgres.EndCpuAsync(cancellationToken);
        var last = (await agent.ScrapeAsync(cancellationToken)).Value("fleet_agent_snapshot_timestamp_seconds") ?? 0;
        var cost = await postgres.EndAsync(Settle, cancellationToken);
        return new AgentWindow(
            elapsed.TotalSeconds,
            elapsed / interval,
            (int)Math.Round((last - first) / interval.TotalSeconds),
            (end.OwnTicks - start.OwnTicks) * ProcCpu.TickMilliseconds,
            cost);
    }

    /// <summary>Watches /metrics (4 times per interval) until <paramref name="count"/> new snapshots were seen.</summary>
    public static async Task<List<CycleSample>> SampleCyclesAsync(AgentProcess agent, int count, CancellationToken cancellationToken)
    {
        var samples = new List<CycleSample>();
        var interval = agent.Settings.Interval;
        var deadline = DateTime.UtcNow + (interval * count * 2) + TimeSpan.FromSeconds(5);
        double? previous = null;
        while (samples.Count < count && DateTime.UtcNow < deadline)
        {
            var metrics = await agent.ScrapeAsync(cancellationToken);
            var at = metrics.Value("fleet_agent_snapshot_timestamp_seconds");
            if (at is { } collectedAt && collectedAt != previous)
            {
                if (previous is not null)
                {
                    var tables = metrics.Value("fleet_pg_table_health_timestamp_seconds");
                    samples.Add(new CycleSample(
                        collectedAt,
                        (metrics.Value("fleet_agent_snapshot_collection_duration_seconds") ?? double.NaN) * 1000,
                        tables is { } t && t >= collectedAt,
                        metrics.Value("fleet_pg_database_size_timestamp_seconds", $"datname=\"{BenchPostgres.Database}\""),
                        tables));
                }

                previous = collectedAt;
            }

            await Task.Delay(interval / 4, cancellationToken);
        }

        return samples;
    }

    /// <summary>
    /// <paramref name="scrapes"/> GET /metrics back to back; the agent's CPU over them, less the collection
    /// cycles that ran meanwhile (<paramref name="cycleCpuMs"/> each), divided by the scrapes.
    /// </summary>
    public static async Task<AgentScrapeCost> ScrapeCostAsync(AgentProcess agent, int scrapes, double cycleCpuMs, CancellationToken cancellationToken)
    {
        var walls = new List<double>(scrapes);
        PromText? last = null;
        var start = ProcFs.ReadCpu(agent.Pid) ?? throw new InvalidOperationException("agent is gone");
        var window = Stopwatch.StartNew();
        for (var i = 0; i < scrapes; i++)
        {
            var one = Stopwatch.StartNew();
            last = await agent.ScrapeAsync(cancellationToken);
            walls.Add(one.Elapsed.TotalMilliseconds);
        }

        var end = ProcFs.ReadCpu(agent.Pid) ?? throw new InvalidOperationException("agent is gone");
        var cycles = window.Elapsed / agent.Settings.Interval;
        var cpu = ((end.OwnTicks - start.OwnTicks) * ProcCpu.TickMilliseconds) - (cycles * cycleCpuMs);
        return new AgentScrapeCost(scrapes, Math.Max(0, cpu) / scrapes, Stats.Median(walls), last!.SeriesCount, last.Bytes);
    }
}
