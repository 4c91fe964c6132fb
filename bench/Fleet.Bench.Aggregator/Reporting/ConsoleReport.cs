using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Fleet.Bench.Aggregator.Measurement;

namespace Fleet.Bench.Aggregator.Reporting;

/// <summary>The result as a Markdown table (pastes into bench/README.md as is).</summary>
internal static class ConsoleReport
{
    public static void Print(BenchResult r, TextWriter output)
    {
        var o = r.Options;
        var text = new StringBuilder();
        text.AppendLine();
        text.AppendLine(Invariant($"## Fleet aggregator load: {o.Agents} agents, report every {o.Interval.TotalMilliseconds:F0} ms"));
        text.AppendLine();
        text.AppendLine(Invariant($"- run: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}"));
        text.AppendLine(Invariant($"- command: Fleet.Bench.Aggregator {r.Arguments}").TrimEnd());
        text.AppendLine(Invariant($"- aggregator: {r.Target}; built from {r.Source}; GC {r.GcMode}"));
        text.AppendLine(Invariant($"- load: {o.Agents} agents in {r.Clusters} clusters of {o.ClusterSize} (1 primary + {o.ClusterSize - 1} streaming replicas), 3 databases and 10 tables each, reports of {r.AverageReportBytes:F0} B on average"));
        text.AppendLine(Invariant($"- transport: {r.Channels} GrpcChannels × {o.AgentsPerChannel} agents, {r.Http2Connections} TCP connections to the gRPC port (agents + watch); Kestrel MaxStreamsPerConnection {(o.MaxStreamsPerConnection?.ToString(CultureInfo.InvariantCulture) ?? "default (100)")}"));
        text.AppendLine(Invariant($"- window: {r.WindowSeconds:F1} s measured after a {o.Ramp.TotalSeconds:F0} s ramp and {o.Warmup.TotalSeconds:F0} s warm-up; latency watch: {(o.Watch ? "FleetService.Watch, whole region, include_snapshots" : "none")}{(o.DashboardWatches > 0 ? Invariant($", plus {o.DashboardWatches} dashboard watch(es) without snapshots") : string.Empty)}"));
        if (!r.Isolated)
        {
            text.AppendLine("- in process: CPU and memory below are the whole process's (aggregator + load generator)");
        }
        else
        {
            text.AppendLine("- the load generator runs on the same 2 cores as the aggregator; aggregator CPU is its own (/proc/PID/stat utime+stime)");
        }

        text.AppendLine();
        var rows = new List<(string, string)>
        {
            ("agents connected (window start / end)", Invariant($"{r.ConnectedAtStart} / {r.ConnectedAtEnd} of {o.Agents}; aggregator says {r.AggregatorConnected} connected, {r.AggregatorStale} stale")),
            ("reports/s expected", Invariant($"{r.ExpectedReportsPerSecond:F0}")),
            ("reports/s sent (generator)", Invariant($"{r.SentPerSecond:F0} ({r.ReportsSentInWindow} in {r.WindowSeconds:F1} s)")),
            ("reports/s ingested (fleet_ingest_reports_total)", Invariant($"{r.IngestedPerSecond:F0} ({r.AggregatorReports} in {r.AggregatorReportsSeconds:F1} s between scrapes)")),
            (r.Isolated ? "aggregator CPU" : "process CPU (aggregator + generator)", Invariant($"{r.AggregatorCores * 100:F0} % of one core (user {r.AggregatorCpu.User.TotalSeconds / Math.Max(0.001, r.WindowSeconds) * 100:F0} %, sys {r.AggregatorCpu.System.TotalSeconds / Math.Max(0.001, r.WindowSeconds) * 100:F0} %) = {r.CpuMicrosPerReport:F0} µs per report")),
        };
        if (r.BenchCores is { } benchCores)
        {
            rows.Add(("load generator CPU (this process)", Invariant($"{benchCores * 100:F0} % of one core")));
        }

        var machineCores = r.MachineBusyFraction * Environment.ProcessorCount;
        var others = machineCores - r.AggregatorCores - (r.BenchCores ?? 0);
        rows.Add(("machine busy (all processes)", Invariant($"{machineCores * 100:F0} % of {Environment.ProcessorCount * 100} % ({Environment.ProcessorCount} cores); other processes {Math.Max(0, others) * 100:F0} %")));
        rows.Add((r.Isolated ? "aggregator RSS" : "process RSS", Invariant($"{Mb(r.RssEnd)} at the end, {Mb(r.RssMax)} max in the window, {Mb(r.RssPeak)} peak (VmHWM), {Mb(r.IdleRss)} idle; {r.Threads} threads")));
        if (r.Isolated)
        {
            rows.Add(("load generator RSS", Mb(r.BenchRss)));
        }

        if (r.Latency is { } latency)
        {
            rows.Add(("report-to-visible p50 / p90 / p99 / p99.9 / max", Latencies(latency)));
            rows.Add(("  ingest: sent → applied (last_report_at)", Latencies(r.LatencyIngest)));
            rows.Add(("  publish: applied → published (FleetChange.time)", Latencies(r.LatencyPublish)));
            rows.Add(("  delivery: published → seen by the watch", Latencies(r.LatencyDelivery)));
            rows.Add(("reports in window: sent / visible / not visible", Invariant($"{r.ReportsSentInWindow} / {r.VisibleInWindow} / {r.NotVisible}")));
            rows.Add(("node_stale / alert changes seen in window", Invariant($"{r.StaleChanges} / {r.AlertChanges}")));
        }

        if (r.DashboardChanges.Count > 0)
        {
            rows.Add(("dashboard watches: changes received", string.Join(", ", r.DashboardChanges.Select(c => c.ToString(CultureInfo.InvariantCulture)))));
        }

        rows.Add(("generator schedule lag p50 / p99 / max", Invariant($"{r.ScheduleLag.P50Ms:F1} / {r.ScheduleLag.P99Ms:F1} / {r.ScheduleLag.MaxMs:F1} ms; {r.SkippedSlots} slots skipped")));
        rows.Add(("report WriteAsync p50 / p99 / max", Invariant($"{r.WriteTime.P50Ms:F2} / {r.WriteTime.P99Ms:F2} / {r.WriteTime.MaxMs:F1} ms")));
        rows.Add(("stream failures", r.StreamFailures == 0 ? "0" : Invariant($"{r.StreamFailures}: {string.Join("; ", r.Errors.Select(e => $"{e.Value}× {e.Key}"))}")));
        if (r.WatchFailures.Count > 0)
        {
            rows.Add(("watch failures", string.Join("; ", r.WatchFailures.GroupBy(f => f).Select(g => Invariant($"{g.Count()}× {g.Key}")))));
        }

        rows.Add(("GET /metrics time (before / after window)", string.Join(" / ", r.ScrapeTimes.Select(t => Invariant($"{t.TotalMilliseconds:F0} ms")))));
        rows.Add(("events dropped by the aggregator", r.EventsDropped.ToString(CultureInfo.InvariantCulture)));
        if (r.AggregatorLogLines > 0)
        {
            rows.Add(("aggregator log lines", r.AggregatorLogLines.ToString(CultureInfo.InvariantCulture)));
        }

        if (!r.AggregatorAlive)
        {
            rows.Add(("aggregator", Invariant($"DIED (exit code {r.AggregatorExitCode?.ToString(CultureInfo.InvariantCulture) ?? "?"})")));
        }

        var width = rows.Max(row => row.Item1.Length);
        var valueWidth = rows.Max(row => row.Item2.Length);
        text.AppendLine($"| {"metric".PadRight(width)} | {"value".PadRight(valueWidth)} |");
        text.AppendLine($"| {new string('-', width)} | {new string('-', valueWidth)} |");
        foreach (var (name, value) in rows)
        {
            text.AppendLine($"| {name.PadRight(width)} | {value.PadRight(valueWidth)} |");
        }

        text.AppendLine();
        var verdict = r.Verdict;
        var target = Invariant($"{o.Agents} agents every {o.Interval.TotalMilliseconds:F0} ms, p99 report-to-visible < {o.TargetP99.TotalMilliseconds:F0} ms");
        text.AppendLine(verdict.Met ? $"TARGET MET: {target}" : $"TARGET MISSED: {target}: {string.Join("; ", verdict.Reasons)}");
        if (r.NegativeSamples > 0)
        {
            text.AppendLine(Invariant($"note: {r.NegativeSamples} latency segment samples were negative (clock resolution) and counted as 0"));
        }

        output.Write(text.ToString());
        output.Flush();
    }

    private static string Latencies(LatencySummary? s) =>
        s is null || s.Count == 0 ? "n/a" : Invariant($"{s.P50Ms:F1} / {s.P90Ms:F1} / {s.P99Ms:F1} / {s.P999Ms:F1} / {s.MaxMs:F1} ms");

    private static string Mb(long bytes) => Invariant($"{bytes / 1048576.0:F0} MB");

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
