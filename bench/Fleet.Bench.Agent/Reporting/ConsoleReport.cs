using System.Globalization;
using System.Text;
using Fleet.Bench.Agent.Measurement;
using Fleet.Bench.Agent.Setup;

namespace Fleet.Bench.Agent.Reporting;

/// <summary>The human-readable report: one comparison table, memory, checks, coverage and the verdicts.</summary>
internal static class ConsoleReport
{
    public const double CpuTargetShare = 0.5;
    public const double RssTargetMb = 60;
    public const double AnonymousTargetMb = 25;

    /// <summary>Issue 10: the shipped agent's highest RSS.</summary>
    public const double ShippedRssTargetMb = 54;

    /// <summary>Issue 18, Native AOT: RSS, private dirty, and CPU per cycle against one exporter scrape.</summary>
    public const double AotRssTargetMb = 25;

    public const double AotPrivateDirtyTargetMb = 12;

    public const double AotCpuTargetShare = 0.3;

    public static string Render(BenchResults r)
    {
        var o = new StringBuilder();
        var ratio = r.Ratio;
        o.Append('\n');
        o.Append(string.Create(CultureInfo.InvariantCulture, $"fleet-agent collection benchmark, {r.StartedAt:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}\n"));
        o.Append(string.Create(CultureInfo.InvariantCulture, $"PostgreSQL {r.PostgresVersion} (loopback TCP, pg_stat_statements loaded, autovacuum off); {r.ExporterVersion}\n"));
        if (r.TableSet is { } t)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"database 'bench': {t.Tables} tables, {t.Indexes} indexes, {t.Rows:N0} live and {t.DeadRows:N0} dead rows, {Mb(t.DatabaseBytes):F1} MB; one physical slot\n"));
        }

        o.Append(string.Create(CultureInfo.InvariantCulture, $"load average (1 min) {r.LoadAverageAtStart} at start, {r.LoadAverageAtEnd} at end: other work on the machine stretches wall times, CPU times much less\n"));
        o.Append(string.Create(CultureInfo.InvariantCulture, $"Fleet: Collection:Interval {r.Options.Interval.TotalSeconds:F0} s, SlowInterval {r.Options.SlowInterval.TotalSeconds:F0} s (a slow refresh every {ratio:F0} cycles); one contender at a time\n\n"));

        var fast = r.FastCycle;
        var slow = r.SlowRefresh;
        var withSlow = r.CycleWithSlowRefresh;
        var amortised = r.Amortised;
        var exporter = r.Exporter;
        var table = new TextTable(
            "per cycle / per scrape", "Fleet fast cycle", "slow refresh alone*", "cycle + refresh", string.Create(CultureInfo.InvariantCulture, $"Fleet amortised (1/{ratio:F0})"), "exporter scrape");
        table.Add("wall ms, median", F(fast?.WallMsMedian), F(slow?.WallMsMedian), F(withSlow?.WallMsMedian), F(amortised?.WallMsMedian), F(exporter is null ? null : Stats.Median(exporter.WallMs)));
        table.Add("wall ms, max", F(fast?.WallMsMax), F(slow?.WallMsMax), F(withSlow?.WallMsMax), "", F(exporter is null ? null : Stats.Max(exporter.WallMs)));
        table.Add("agent / exporter CPU ms", F(fast?.AgentCpuMs), F(slow?.AgentCpuMs), F(withSlow?.AgentCpuMs), F(amortised?.AgentCpuMs), F(exporter?.ExporterCpuPerScrapeMs));
        if (r.IdleCpuMsPerSecond is { } idle)
        {
            var idlePerCycle = idle * r.Options.Interval.TotalSeconds;
            table.Add("  of which agent idle (no collection)", F(idlePerCycle), "", F(idlePerCycle), F(idlePerCycle), "");
        }

        table.Add("PostgreSQL CPU ms", F(fast?.PostgresCpuMs), F(slow?.PostgresCpuMs), F(withSlow?.PostgresCpuMs), F(amortised?.PostgresCpuMs), F(exporter?.PostgresCpuPerScrapeMs));
        table.Add("= agent + PostgreSQL CPU ms", F(fast?.TotalCpuMs), F(slow?.TotalCpuMs), F(withSlow?.TotalCpuMs), F(amortised?.TotalCpuMs),
            F(exporter is null ? null : exporter.ExporterCpuPerScrapeMs + exporter.PostgresCpuPerScrapeMs));
        table.Add("PostgreSQL exec ms (pg_stat_statements)", F(fast?.ExecMs, 3), F(slow?.ExecMs, 3), F(withSlow?.ExecMs, 3), F(amortised?.ExecMs, 3), F(exporter?.ExecMsPerScrape, 3));
        table.Add("statements", F(fast?.Statements, 1), F(slow?.Statements, 1), F(withSlow?.Statements, 1), F(amortised?.Statements, 2), F(exporter?.StatementsPerScrape, 1));
        table.Add("round trips", "1", "1 + 1/other db", "2 + 1/other db", "", "one per query");
        table.Add("connections opened", F(r.Fast is null ? null : r.Fast.SessionsOpenedToOwnDatabase / r.Fast.Cycles, 2), "1 (other db)", "1", F(1 / ratio, 4),
            F(exporter?.ConnectionsPerScrape, 2));
        table.Add("series exposed", r.FleetSeries.ToString(CultureInfo.InvariantCulture), "", "", "", exporter?.Last.SeriesCount.ToString(CultureInfo.InvariantCulture) ?? "-");
        o.Append(table.Render());
        o.Append("CPU from /proc/PID/stat (10 ms ticks) over whole windows, divided by the cycles/scrapes in them, idle time between them included.\n");
        o.Append("PostgreSQL CPU = the contender's backends (live ones; exited ones via the postmaster's cutime) + the postmaster's own (forks).\n\n");

        if (r.Fast is { } fw)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"Fleet fast window: {fw.Seconds:F1} s = {fw.Cycles:F1} cycles (snapshots seen: {fw.CyclesObserved}); agent {fw.AgentCpuMs:F0} ms CPU; PostgreSQL backend {fw.Postgres.BackendCpuMs:F0} ms, " +
                         $"exited {fw.Postgres.ExitedChildrenCpuMs:F0} ms, postmaster {fw.Postgres.PostmasterCpuMs:F0} ms, background processes {fw.Postgres.BackgroundCpuMs:F0} ms (not counted); " +
                         $"backends {fw.Postgres.BackendsSeen}, connections opened {fw.Postgres.ConnectionsOpened}, slow refreshes {fw.SlowRefreshes}\n"));
        }

        foreach (var (name, sw) in new[] { ("cold, right after start", r.SlowEveryCold), ("warm", r.SlowEvery) })
        {
            if (sw is null)
            {
                continue;
            }

            o.Append(string.Create(CultureInfo.InvariantCulture, $"Fleet slow window ({name}, SlowInterval = Interval): {sw.Seconds:F1} s = {sw.Cycles:F1} cycles, {sw.SlowRefreshes} slow refreshes; agent {sw.AgentCpuMs:F0} ms; PostgreSQL {sw.Postgres.ClientCpuMs:F0} ms " +
                         $"(backend {sw.Postgres.BackendCpuMs:F0}, exited {sw.Postgres.ExitedChildrenCpuMs:F0}, postmaster {sw.Postgres.PostmasterCpuMs:F0}); connections opened {Connections(sw.Postgres.ConnectionsByDatabase)}\n"));
        }

        o.Append("  * slow refresh alone = (cold window cost - cycles x warm fast-cycle cost) / refreshes: tier-0 code, as the refresh runs in production\n");
        o.Append("    (every 5 min it never reaches the JIT's 30-call threshold for hours); an upper bound, since the cold window's fast part is tier-0 too.\n");
        if (r.SlowRefreshWarm is { } warm)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"    once optimised (warm window): agent {warm.AgentCpuMs:F2} ms, PostgreSQL {warm.PostgresCpuMs:F2} ms, exec {F(warm.ExecMs, 3)} ms per refresh; wall from /metrics samples of the warm window\n"));
        }

        if (exporter is not null)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"exporter window: {exporter.Seconds:F1} s, {exporter.Scrapes} scrapes; exporter {exporter.ExporterCpuMs:F0} ms CPU; PostgreSQL {exporter.Postgres.ClientCpuMs:F0} ms " +
                         $"(backend {exporter.Postgres.BackendCpuMs:F0}, exited {exporter.Postgres.ExitedChildrenCpuMs:F0}, postmaster {exporter.Postgres.PostmasterCpuMs:F0}, background {exporter.Postgres.BackgroundCpuMs:F0} not counted); " +
                         $"backends {exporter.Postgres.BackendsSeen} (held open: {r.ExporterBackends}), connections opened {exporter.Postgres.ConnectionsOpened}; " +
                         $"exporter-reported scrape time median {Stats.Median(exporter.ServerScrapeMs):F1} ms\n"));
        }

        foreach (var (name, startup) in new[] { ("framework-dependent", r.FrameworkDependentStartup) }.Concat(r.SelfContained.Select(run => (run.Name, run.Startup))))
        {
            if (startup is not null)
            {
                o.Append(string.Create(CultureInfo.InvariantCulture, $"start-up, {name}: exec to first snapshot (gRPC health SERVING) {startup.ReadySeconds:F2} s and {startup.ReadyCpuMs:F0} ms CPU; warm-up to {startup.WarmedAtSeconds:F0} s {startup.WarmupCpuMs:F0} ms CPU (one-off, not in the per-cycle figures)\n"));
            }
        }

        foreach (var run in r.SelfContained)
        {
            if (run.Fast is { } tw)
            {
                o.Append(string.Create(CultureInfo.InvariantCulture, $"{run.Name} agent, fast window: {tw.Cycles:F1} cycles; agent {tw.AgentCpuPerCycleMs:F2} ms CPU/cycle (framework-dependent: {F(r.Fast?.AgentCpuPerCycleMs)}), PostgreSQL {tw.PostgresCpuPerCycleMs:F2} ms/cycle\n"));
            }
        }

        if (r.AgentScrape is { } scrape)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"Fleet GET /metrics (renders the latest snapshot, no PostgreSQL work): {scrape.CpuMsPerScrape:F3} ms agent CPU, {scrape.WallMsMedian:F2} ms wall (median of {scrape.Scrapes}), {scrape.Series} series, {scrape.Bytes} bytes\n"));
        }

        o.Append('\n');
        o.Append("Data age\n");
        o.Append(string.Create(CultureInfo.InvariantCulture, $"  Fleet: fast figures are collected every {r.Options.Interval.TotalSeconds:F0} s (snapshot age <= interval + cycle time); sizes and the dead-tuple/bloat report every {r.Options.SlowInterval.TotalSeconds:F0} s,\n"));
        o.Append(string.Create(CultureInfo.InvariantCulture, $"  carried into every snapshot with databases[].size_as_of and table_health.as_of (/metrics: fleet_pg_database_size_timestamp_seconds, fleet_pg_table_health_timestamp_seconds).\n"));
        o.Append(string.Create(CultureInfo.InvariantCulture, $"  Worst case age of slow figures: {r.Options.SlowInterval.TotalSeconds:F0} s + one cycle. Observed at the end of the fast window: {F(r.SlowFiguresAgeSeconds, 0)} s (agent uptime).\n"));
        o.Append("  postgres_exporter: every figure, database sizes included, is recomputed at each scrape (age = the scrape interval, typically 15-60 s in Prometheus).\n\n");

        o.Append(MemoryTable(r));
        foreach (var run in r.SelfContained.Where(run => run.Smoke.Count > 0))
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"{run.Name} agent smoke check\n"));
            foreach (var check in run.Smoke)
            {
                o.Append(string.Create(CultureInfo.InvariantCulture, $"  {(check.Passed ? "ok  " : "FAIL")} {check.Check}: {check.Detail}\n"));
            }

            o.Append('\n');
        }

        if (r.Knobs.Count > 0)
        {
            var knobs = new TextTable("runtime setting (trimmed agent; AOT: the Native AOT one)", "RSS MB", "anonymous MB", "private dirty MB", "agent CPU ms/cycle", "what it changes");
            foreach (var k in r.Knobs)
            {
                knobs.Add(string.Create(CultureInfo.InvariantCulture, $"{k.Name} ({k.Settings})"), F(k.Memory.Memory.RssKb / 1024.0), F(k.Memory.Memory.AnonymousKb / 1024.0), F(k.Memory.Memory.PrivateDirtyKb / 1024.0),
                    F(k.Cpu.AgentCpuPerCycleMs), k.Purpose);
            }

            o.Append(knobs.Render());
            o.Append(string.Create(CultureInfo.InvariantCulture, $"each variant alone against the published settings, memory after {r.Options.KnobSeconds.TotalSeconds:F0} s, CPU over its last 30 cycles\n\n"));
        }

        if (r.Coverage is { } c)
        {
            o.Append(CoverageText(c));
        }

        o.Append(Verdicts(r));
        o.Append(string.Create(CultureInfo.InvariantCulture, $"\nrun took {r.Took.TotalSeconds:F0} s\n"));
        return o.ToString();
    }

    public static string MemoryTable(BenchResults r)
    {
        var memory = new TextTable("steady memory", "uptime s", "RSS MB", "anonymous MB", "private dirty MB", "private MB", "peak RSS MB", "publish MB");
        var rows = r.SelfContained
            .SelectMany(run => new[] { (run.Memory, r.Publishes.FirstOrDefault(p => p.Binary.Label == run.Label)), (run.MemoryAfterSmoke, (PublishResult?)null) })
            .Concat(
            [
                (r.FrameworkDependentMemory, r.Publishes.FirstOrDefault(p => p.Binary.Label == "framework-dependent")),
                (r.ExporterMemory, null),
            ]);
        foreach (var (reading, publish) in rows)
        {
            if (reading is null)
            {
                continue;
            }

            var m = reading.Memory;
            memory.Add(reading.Process, F(reading.UptimeSeconds, 0), F(m.RssKb / 1024.0), F(m.AnonymousKb / 1024.0), F(m.PrivateDirtyKb / 1024.0), F(m.PrivateKb / 1024.0), F(m.PeakRssKb / 1024.0),
                publish is null ? "-" : F(Mb(publish.Binary.PublishBytes)));
        }

        var window = string.Concat(r.SelfContained.Select(run => run.Memory is { Samples: > 1 } t
            ? string.Create(CultureInfo.InvariantCulture,
                $"the {run.Name} agent's row is the highest of {t.Samples} readings, every 5 s from {t.WindowFromSeconds:F0} to {t.WindowToSeconds:F0} s of uptime, /metrics scraped at each;\n")
              + (run.Gc is { } gc
                  ? string.Create(CultureInfo.InvariantCulture,
                      $"  by then it had run {gc.Gen0:F0} gen0, {gc.Gen1:F0} gen1 and {gc.Gen2:F0} gen2 collections, of which it asked for {gc.InducedGen0:F0} gen0 and {gc.InducedCompactions:F0} compactions\n")
                  : string.Empty)
            : string.Empty));
        return memory.Render() + window +
               "from /proc/PID/smaps_rollup (Rss, Anonymous, Private_Dirty, Private_Clean + Private_Dirty) and /proc/PID/status (VmHWM). Anonymous excludes\n" +
               "the JIT's code and stubs, which .NET keeps in a double-mapped memfd (W^X): they are in private dirty. Private clean pages are the\n" +
               "process's own mapped files (its DLLs, libcoreclr), reclaimable. The framework-dependent agent maps the shared framework instead.\n" +
               "The Native AOT agent has no JIT: its code is the executable's text, mapped from the file (private clean or shared).\n" +
               string.Concat(r.SelfContained.Select(run => run.Memory is { } m ? Breakdown(m) : string.Empty)) + "\n";
    }

    private static string Breakdown(MemoryReading reading)
    {
        var o = new StringBuilder(string.Create(CultureInfo.InvariantCulture, $"where the RSS of {reading.Process} is:"));
        foreach (var (kind, kb) in reading.Breakdown)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $" {kind} {kb / 1024.0:F1} MB;"));
        }

        return o.Append('\n').ToString();
    }

    private static string CoverageText(CoverageReport c)
    {
        var o = new StringBuilder();
        o.Append(string.Create(CultureInfo.InvariantCulture, $"Metric coverage: postgres_exporter default families vs Fleet /metrics ({c.Covered} covered, {c.Partial} partial, {c.Missing} missing of {c.Rows.Count} PostgreSQL families;\n"));
        o.Append(string.Create(CultureInfo.InvariantCulture, $"pg_settings_* rows compare each setting with fleet_pg_setting{{name}}; {c.SettingsFamilies} not found there; {c.ExporterSelfFamilies} exporter self-metrics families (scrape, Go, process) not compared)\n"));
        var table = new TextTable("postgres_exporter family", "status", "Fleet", "seen", "note");
        foreach (var row in c.Rows)
        {
            table.Add(row.ExporterFamily, row.Status.ToString().ToLowerInvariant(), row.Fleet,
                (row.SeenInScrape ? "e" : "-") + (row.FleetSeen ? "f" : "-"), row.Note);
        }

        o.Append(table.Render(leftAlignAll: true));
        o.Append("seen: e = the exporter emitted it in this run (pg_stat_replication needs a standby), f = Fleet's family was in its /metrics\n");
        if (c.Unmapped.Count > 0)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"exporter families this bench does not map (treated as missing): {string.Join(", ", c.Unmapped)}\n"));
        }

        o.Append(string.Create(CultureInfo.InvariantCulture, $"Fleet-only PostgreSQL families ({c.FleetOnly.Count}): {string.Join(", ", c.FleetOnly)}\n\n"));
        return o.ToString();
    }

    private static string Verdicts(BenchResults r)
    {
        var o = new StringBuilder("Targets\n");
        if (r.Amortised is { } amortised && r.Exporter is { } exporter)
        {
            var scrape = exporter.ExporterCpuPerScrapeMs + exporter.PostgresCpuPerScrapeMs;
            var share = amortised.TotalCpuMs / scrape;
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(share <= CpuTargetShare)}] CPU: Fleet cycle, amortised, agent + PostgreSQL {amortised.TotalCpuMs:F2} ms <= {CpuTargetShare:P0} of one exporter scrape ({scrape:F2} ms): {share:P0} of it\n"));
            var withSlow = r.CycleWithSlowRefresh!;
            o.Append(string.Create(CultureInfo.InvariantCulture, $"       (not amortised: a fast cycle is {r.FastCycle!.TotalCpuMs / scrape:P0} of a scrape, a cycle that also refreshes sizes and bloat {withSlow.TotalCpuMs / scrape:P0})\n"));
        }

        if (r.Coverage is { } c)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(c.AtLeastTheSame)}] coverage: Fleet collects at least the same metrics as postgres_exporter's defaults: " +
                         $"{c.Covered} of {c.Rows.Count} families fully, {c.Partial} coarser, {c.Missing} not at all; settings not found in fleet_pg_setting: {c.SettingsFamilies}\n"));
        }

        if (r.Trimmed?.Memory is { } trimmed)
        {
            var rss = trimmed.Memory.RssKb / 1024.0;
            var anonymous = trimmed.Memory.AnonymousKb / 1024.0;
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(rss <= RssTargetMb)}] memory: trimmed self-contained RSS {rss:F1} MB <= {RssTargetMb:F0} MB (<= {ShippedRssTargetMb:F0} MB: {Met(rss <= ShippedRssTargetMb)})\n"));
            var dirty = trimmed.Memory.PrivateDirtyKb / 1024.0;
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(anonymous <= AnonymousTargetMb)}] memory: trimmed self-contained anonymous {anonymous:F1} MB <= {AnonymousTargetMb:F0} MB\n"));
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(dirty <= AnonymousTargetMb)}] memory, stricter reading: private dirty (anonymous + the JIT's double-mapped code) {dirty:F1} MB <= {AnonymousTargetMb:F0} MB\n"));
            AfterSmoke(o, r.Trimmed.MemoryAfterSmoke);
        }

        if (r.Aot?.Memory is { } aot)
        {
            var rss = aot.Memory.RssKb / 1024.0;
            var dirty = aot.Memory.PrivateDirtyKb / 1024.0;
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(rss <= ShippedRssTargetMb)}] memory: Native AOT RSS {rss:F1} MB <= {ShippedRssTargetMb:F0} MB (the shipped agent)\n"));
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(rss <= AotRssTargetMb)}] memory: Native AOT RSS {rss:F1} MB <= {AotRssTargetMb:F0} MB\n"));
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(dirty <= AotPrivateDirtyTargetMb)}] memory: Native AOT private dirty {dirty:F1} MB <= {AotPrivateDirtyTargetMb:F0} MB\n"));
            AfterSmoke(o, r.Aot.MemoryAfterSmoke);
            if (r.AmortisedOf(r.Aot) is { } aotCycle && r.Exporter is { } aotExporter)
            {
                var scrape = aotExporter.ExporterCpuPerScrapeMs + aotExporter.PostgresCpuPerScrapeMs;
                var share = aotCycle.TotalCpuMs / scrape;
                o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(share <= AotCpuTargetShare)}] CPU: Native AOT cycle, amortised, agent + PostgreSQL {aotCycle.TotalCpuMs:F2} ms <= {AotCpuTargetShare:P0} of one exporter scrape ({scrape:F2} ms): {share:P0} of it\n"));
            }
        }

        foreach (var run in r.SelfContained.Where(run => run.Smoke.Count > 0))
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"  [{Met(run.Smoke.All(s => s.Passed))}] the {run.Name} agent works: {run.Smoke.Count(s => s.Passed)} of {run.Smoke.Count} checks passed\n"));
        }

        return o.ToString();
    }

    private static void AfterSmoke(StringBuilder o, MemoryReading? after)
    {
        if (after is not null)
        {
            o.Append(string.Create(CultureInfo.InvariantCulture, $"       after gRPC + reflection were used once: RSS {after.Memory.RssKb / 1024.0:F1} MB, anonymous {after.Memory.AnonymousKb / 1024.0:F1} MB, private dirty {after.Memory.PrivateDirtyKb / 1024.0:F1} MB\n"));
        }
    }

    private static string Connections(IReadOnlyDictionary<string, long> byDatabase) =>
        byDatabase.Count == 0 ? "0" : string.Join(", ", byDatabase.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Value} to {kv.Key}")));

    private static string Met(bool met) => met ? "MET" : "NOT MET";

    private static double Mb(long bytes) => bytes / 1048576.0;

    private static string F(double? value, int decimals = 2) =>
        value is { } v && !double.IsNaN(v) ? v.ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) : "-";

}
