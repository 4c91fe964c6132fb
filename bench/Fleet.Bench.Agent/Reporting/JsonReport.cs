using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Bench.Agent.Measurement;
using Fleet.Bench.Agent.Scenarios;

namespace Fleet.Bench.Agent.Reporting;

/// <summary>The results as JSON (--json FILE), for tracking runs over time.</summary>
internal static class JsonReport
{
    public static string Render(BenchResults r)
    {
        var exporter = r.Exporter;
        var root = new JsonObject
        {
            ["benchmark"] = "fleet-agent-collection",
            ["started_at"] = r.StartedAt.ToString("O"),
            ["took_seconds"] = r.Took.TotalSeconds,
            ["machine"] = new JsonObject { ["cores"] = Environment.ProcessorCount, ["os"] = Environment.OSVersion.VersionString, ["dotnet"] = Environment.Version.ToString() },
            ["postgres_version"] = r.PostgresVersion,
            ["exporter_version"] = r.ExporterVersion,
            ["options"] = new JsonObject
            {
                ["tables"] = r.Options.Tables,
                ["cycles"] = r.Options.Cycles,
                ["slow_cycles"] = r.Options.SlowCycles,
                ["trimmed_cycles"] = r.Options.TrimmedCycles,
                ["scrapes"] = r.Options.Scrapes,
                ["warmup_seconds"] = r.Options.Warmup.TotalSeconds,
                ["steady_seconds"] = r.Options.Steady.TotalSeconds,
                ["interval_seconds"] = r.Options.Interval.TotalSeconds,
                ["slow_interval_seconds"] = r.Options.SlowInterval.TotalSeconds,
            },
            ["database"] = r.TableSet is { } t
                ? new JsonObject { ["tables"] = t.Tables, ["indexes"] = t.Indexes, ["live_rows"] = t.Rows, ["dead_rows"] = t.DeadRows, ["bytes"] = t.DatabaseBytes }
                : null,
            ["publishes"] = new JsonArray(r.Publishes.Select(p => (JsonNode)new JsonObject
            {
                ["label"] = p.Binary.Label,
                ["command"] = p.CommandLine,
                ["warnings"] = p.Warnings,
                ["bytes"] = p.Binary.PublishBytes,
                ["seconds"] = p.Took.TotalSeconds,
            }).ToArray()),
            ["fleet"] = new JsonObject
            {
                ["fast_cycle"] = Cost(r.FastCycle),
                ["slow_refresh_alone"] = Cost(r.SlowRefresh),
                ["slow_refresh_alone_warm"] = Cost(r.SlowRefreshWarm),
                ["cycle_with_slow_refresh"] = Cost(r.CycleWithSlowRefresh),
                ["amortised"] = Cost(r.Amortised),
                ["fast_window"] = Window(r.Fast),
                ["slow_window"] = Window(r.SlowEvery),
                ["slow_window_cold"] = Window(r.SlowEveryCold),
                ["startup_framework_dependent"] = Startup(r.FrameworkDependentStartup),
                ["startup_trimmed"] = Startup(r.Trimmed?.Startup),
                ["trimmed_fast_window"] = Window(r.Trimmed?.Fast),
                ["startup_aot"] = Startup(r.Aot?.Startup),
                ["aot_fast_window"] = Window(r.Aot?.Fast),
                ["aot_amortised"] = r.Aot is { } aotRun ? Cost(r.AmortisedOf(aotRun)) : null,
                ["fast_samples"] = Samples(r.FastSamples),
                ["slow_samples"] = Samples(r.SlowSamples),
                ["metrics_scrape"] = r.AgentScrape is { } s
                    ? new JsonObject { ["cpu_ms"] = s.CpuMsPerScrape, ["wall_ms_median"] = s.WallMsMedian, ["series"] = s.Series, ["bytes"] = s.Bytes }
                    : null,
                ["series"] = r.FleetSeries,
                ["idle_cpu_ms_per_second"] = r.IdleCpuMsPerSecond,
                ["slow_figures_age_seconds"] = r.SlowFiguresAgeSeconds,
            },
            ["exporter"] = exporter is null
                ? null
                : new JsonObject
                {
                    ["scrapes"] = exporter.Scrapes,
                    ["seconds"] = exporter.Seconds,
                    ["wall_ms_median"] = Stats.Median(exporter.WallMs),
                    ["wall_ms_max"] = Stats.Max(exporter.WallMs),
                    ["server_scrape_ms_median"] = Stats.Median(exporter.ServerScrapeMs),
                    ["exporter_cpu_ms_per_scrape"] = exporter.ExporterCpuPerScrapeMs,
                    ["postgres_cpu_ms_per_scrape"] = exporter.PostgresCpuPerScrapeMs,
                    ["exec_ms_per_scrape"] = exporter.ExecMsPerScrape,
                    ["statements_per_scrape"] = exporter.StatementsPerScrape,
                    ["connections_per_scrape"] = exporter.ConnectionsPerScrape,
                    ["backends_held_open"] = r.ExporterBackends,
                    ["postgres"] = Postgres(exporter.Postgres),
                    ["series"] = exporter.Last.SeriesCount,
                },
            ["load_average"] = new JsonObject { ["start"] = r.LoadAverageAtStart, ["end"] = r.LoadAverageAtEnd },
            ["memory"] = new JsonArray(r.SelfContained.SelectMany(run => new[] { run.Memory, run.MemoryAfterSmoke })
                .Concat([r.FrameworkDependentMemory, r.ExporterMemory]).OfType<MemoryReading>().Select(Memory).ToArray()),
            ["smoke"] = new JsonArray(r.SelfContained.SelectMany(run => run.Smoke.Select(s => (JsonNode)new JsonObject
            {
                ["agent"] = run.Label, ["check"] = s.Check, ["passed"] = s.Passed, ["detail"] = s.Detail,
            })).ToArray()),
            ["knobs"] = new JsonArray(r.Knobs.Select(k => (JsonNode)new JsonObject
            {
                ["name"] = k.Name,
                ["settings"] = k.Settings,
                ["memory"] = Memory(k.Memory),
                ["agent_cpu_ms_per_cycle"] = k.Cpu.AgentCpuPerCycleMs,
            }).ToArray()),
            ["coverage"] = r.Coverage is { } c
                ? new JsonObject
                {
                    ["covered"] = c.Covered,
                    ["partial"] = c.Partial,
                    ["missing"] = c.Missing,
                    ["settings_families"] = c.SettingsFamilies,
                    ["at_least_the_same"] = c.AtLeastTheSame,
                    ["unmapped"] = new JsonArray(c.Unmapped.Select(u => (JsonNode)JsonValue.Create(u)).ToArray()),
                    ["fleet_only"] = new JsonArray(c.FleetOnly.Select(u => (JsonNode)JsonValue.Create(u)).ToArray()),
                    ["rows"] = new JsonArray(c.Rows.Select(row => (JsonNode)new JsonObject
                    {
                        ["exporter"] = row.ExporterFamily,
                        ["status"] = row.Status.ToString().ToLowerInvariant(),
                        ["fleet"] = row.Fleet,
                        ["note"] = row.Note,
                        ["seen_exporter"] = row.SeenInScrape,
                        ["seen_fleet"] = row.FleetSeen,
                    }).ToArray()),
                }
                : null,
            ["targets"] = Targets(r),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static JsonObject Targets(BenchResults r)
    {
        var targets = new JsonObject();
        if (r.Amortised is { } amortised && r.Exporter is { } exporter)
        {
            var scrape = exporter.ExporterCpuPerScrapeMs + exporter.PostgresCpuPerScrapeMs;
            targets["cpu_share_of_scrape"] = amortised.TotalCpuMs / scrape;
            targets["cpu_met"] = amortised.TotalCpuMs / scrape <= ConsoleReport.CpuTargetShare;
        }

        if (r.Trimmed?.Memory is { } m)
        {
            targets["rss_mb"] = m.Memory.RssKb / 1024.0;
            targets["rss_met"] = m.Memory.RssKb / 1024.0 <= ConsoleReport.RssTargetMb;
            targets["anonymous_mb"] = m.Memory.AnonymousKb / 1024.0;
            targets["anonymous_met"] = m.Memory.AnonymousKb / 1024.0 <= ConsoleReport.AnonymousTargetMb;
            targets["private_dirty_mb"] = m.Memory.PrivateDirtyKb / 1024.0;
            targets["private_dirty_met"] = m.Memory.PrivateDirtyKb / 1024.0 <= ConsoleReport.AnonymousTargetMb;
        }

        if (r.Aot?.Memory is { } aot)
        {
            targets["aot_rss_mb"] = aot.Memory.RssKb / 1024.0;
            targets["aot_rss_met"] = aot.Memory.RssKb / 1024.0 <= ConsoleReport.AotRssTargetMb;
            targets["aot_private_dirty_mb"] = aot.Memory.PrivateDirtyKb / 1024.0;
            targets["aot_private_dirty_met"] = aot.Memory.PrivateDirtyKb / 1024.0 <= ConsoleReport.AotPrivateDirtyTargetMb;
            if (r.AmortisedOf(r.Aot) is { } aotCycle && r.Exporter is { } scrapeCost)
            {
                var share = aotCycle.TotalCpuMs / (scrapeCost.ExporterCpuPerScrapeMs + scrapeCost.PostgresCpuPerScrapeMs);
                targets["aot_cpu_share_of_scrape"] = share;
                targets["aot_cpu_met"] = share <= ConsoleReport.AotCpuTargetShare;
            }
        }

        targets["coverage_met"] = r.Coverage?.AtLeastTheSame;
        targets["trimmed_works"] = r.Trimmed is { Smoke.Count: > 0 } t ? t.Smoke.All(s => s.Passed) : null;
        targets["aot_works"] = r.Aot is { Smoke.Count: > 0 } a ? a.Smoke.All(s => s.Passed) : null;
        return targets;
    }

    private static JsonObject? Cost(FleetCycleCost? c) => c is null
        ? null
        : new JsonObject
        {
            ["agent_cpu_ms"] = c.AgentCpuMs,
            ["postgres_cpu_ms"] = c.PostgresCpuMs,
            ["total_cpu_ms"] = c.TotalCpuMs,
            ["exec_ms"] = c.ExecMs,
            ["statements"] = c.Statements,
            ["wall_ms_median"] = Finite(c.WallMsMedian),
            ["wall_ms_max"] = Finite(c.WallMsMax),
        };

    private static JsonObject? Startup(AgentStartup? s) => s is null
        ? null
        : new JsonObject { ["ready_seconds"] = s.ReadySeconds, ["ready_cpu_ms"] = s.ReadyCpuMs, ["warmed_at_seconds"] = s.WarmedAtSeconds, ["warmup_cpu_ms"] = s.WarmupCpuMs };

    private static JsonObject? Window(AgentWindow? w) => w is null
        ? null
        : new JsonObject
        {
            ["seconds"] = w.Seconds,
            ["cycles"] = w.Cycles,
            ["cycles_observed"] = w.CyclesObserved,
            ["agent_cpu_ms"] = w.AgentCpuMs,
            ["slow_refreshes"] = w.SlowRefreshes,
            ["postgres"] = Postgres(w.Postgres),
        };

    private static JsonObject Postgres(PostgresCost p) => new()
    {
        ["client_cpu_ms"] = p.ClientCpuMs,
        ["backend_cpu_ms"] = p.BackendCpuMs,
        ["exited_children_cpu_ms"] = p.ExitedChildrenCpuMs,
        ["postmaster_cpu_ms"] = p.PostmasterCpuMs,
        ["background_cpu_ms"] = p.BackgroundCpuMs,
        ["connections_opened"] = p.ConnectionsOpened,
        ["exec_ms"] = p.ExecMs,
        ["statements"] = p.Statements,
        ["backends_seen"] = p.BackendsSeen,
    };

    private static JsonArray Samples(List<CycleSample> samples) =>
        new(samples.Select(s => (JsonNode)new JsonObject
        {
            ["collected_at"] = s.CollectedAt,
            ["duration_ms"] = Finite(s.DurationMs),
            ["slow_refresh"] = s.IncludedSlowRefresh,
            ["sizes_as_of"] = s.SizesAsOf,
            ["tables_as_of"] = s.TablesAsOf,
        }).ToArray());

    private static JsonObject Memory(MemoryReading m) => new()
    {
        ["process"] = m.Process,
        ["uptime_seconds"] = m.UptimeSeconds,
        ["window_from_seconds"] = m.WindowFromSeconds,
        ["window_to_seconds"] = m.WindowToSeconds,
        ["samples"] = m.Samples,
        ["rss_kb"] = m.Memory.RssKb,
        ["pss_kb"] = m.Memory.PssKb,
        ["anonymous_kb"] = m.Memory.AnonymousKb,
        ["private_clean_kb"] = m.Memory.PrivateCleanKb,
        ["private_dirty_kb"] = m.Memory.PrivateDirtyKb,
        ["shared_clean_kb"] = m.Memory.SharedCleanKb,
        ["peak_rss_kb"] = m.Memory.PeakRssKb,
        ["rss_breakdown_kb"] = new JsonObject(m.Breakdown.Select(b => KeyValuePair.Create(b.Kind, (JsonNode?)JsonValue.Create(b.RssKb)))),
    };

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;
}
