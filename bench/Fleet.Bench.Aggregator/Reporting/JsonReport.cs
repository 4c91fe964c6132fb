using System.Runtime.InteropServices;
using System.Text.Json;
using Fleet.Bench.Aggregator.Measurement;

namespace Fleet.Bench.Aggregator.Reporting;

/// <summary>The result as JSON (--json FILE), for comparing runs.</summary>
internal static class JsonReport
{
    public static void Write(BenchResult r, string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        using var stream = File.Create(path);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        var o = r.Options;
        w.WriteStartObject();
        w.WriteString("benchmark", "fleet-aggregator-load");
        w.WriteString("time", DateTime.UtcNow);
        w.WriteString("arguments", r.Arguments);
        w.WriteNumber("cores", Environment.ProcessorCount);
        w.WriteString("os", RuntimeInformation.OSDescription);
        w.WriteString("runtime", Environment.Version.ToString());

        w.WriteStartObject("aggregator");
        w.WriteString("target", r.Target);
        w.WriteString("dll", r.AggregatorDll);
        w.WriteString("source", r.Source);
        w.WriteString("gc", r.GcMode);
        w.WriteBoolean("isolated", r.Isolated);
        w.WriteBoolean("alive", r.AggregatorAlive);
        if (r.AggregatorExitCode is { } exit)
        {
            w.WriteNumber("exitCode", exit);
        }

        w.WriteNumber("logLines", r.AggregatorLogLines);
        w.WriteEndObject();

        w.WriteStartObject("load");
        w.WriteNumber("agents", o.Agents);
        w.WriteNumber("clusters", r.Clusters);
        w.WriteNumber("clusterSize", o.ClusterSize);
        w.WriteNumber("intervalMs", o.Interval.TotalMilliseconds);
        w.WriteNumber("rampSeconds", o.Ramp.TotalSeconds);
        w.WriteNumber("warmupSeconds", o.Warmup.TotalSeconds);
        w.WriteNumber("windowSeconds", r.WindowSeconds);
        w.WriteNumber("channels", r.Channels);
        w.WriteNumber("agentsPerChannel", o.AgentsPerChannel);
        w.WriteNumber("tcpConnections", r.Http2Connections);
        if (o.MaxStreamsPerConnection is { } streams)
        {
            w.WriteNumber("maxStreamsPerConnection", streams);
        }

        w.WriteNumber("averageReportBytes", r.AverageReportBytes);
        w.WriteEndObject();

        w.WriteStartObject("results");
        w.WriteNumber("connectedAtStart", r.ConnectedAtStart);
        w.WriteNumber("connectedAtEnd", r.ConnectedAtEnd);
        w.WriteNumber("aggregatorConnected", r.AggregatorConnected);
        w.WriteNumber("aggregatorStale", r.AggregatorStale);
        w.WriteNumber("expectedReportsPerSecond", r.ExpectedReportsPerSecond);
        w.WriteNumber("sentReportsPerSecond", r.SentPerSecond);
        w.WriteNumber("ingestedReportsPerSecond", r.IngestedPerSecond);
        w.WriteNumber("reportsSentInWindow", r.ReportsSentInWindow);
        w.WriteNumber("reportsVisibleInWindow", r.VisibleInWindow);
        w.WriteNumber("reportsNotVisible", r.NotVisible);
        w.WriteNumber("aggregatorCpuCores", r.AggregatorCores);
        w.WriteNumber("aggregatorCpuUserSeconds", r.AggregatorCpu.User.TotalSeconds);
        w.WriteNumber("aggregatorCpuSystemSeconds", r.AggregatorCpu.System.TotalSeconds);
        w.WriteNumber("aggregatorCpuMicrosPerReport", r.CpuMicrosPerReport);
        if (r.BenchCores is { } bench)
        {
            w.WriteNumber("generatorCpuCores", bench);
        }

        w.WriteNumber("machineBusyFraction", r.MachineBusyFraction);
        w.WriteNumber("otherProcessesCpuCores", Math.Max(0, (r.MachineBusyFraction * Environment.ProcessorCount) - r.AggregatorCores - (r.BenchCores ?? 0)));
        w.WriteNumber("rssIdleBytes", r.IdleRss);
        w.WriteNumber("rssEndBytes", r.RssEnd);
        w.WriteNumber("rssMaxBytes", r.RssMax);
        w.WriteNumber("rssPeakBytes", r.RssPeak);
        w.WriteNumber("threads", r.Threads);
        w.WriteNumber("generatorRssBytes", r.BenchRss);
        Latency(w, "latency", r.Latency);
        Latency(w, "latencyIngest", r.LatencyIngest);
        Latency(w, "latencyPublish", r.LatencyPublish);
        Latency(w, "latencyDelivery", r.LatencyDelivery);
        Latency(w, "scheduleLag", r.ScheduleLag);
        Latency(w, "writeTime", r.WriteTime);
        w.WriteNumber("skippedSlots", r.SkippedSlots);
        w.WriteNumber("staleChanges", r.StaleChanges);
        w.WriteNumber("alertChanges", r.AlertChanges);
        w.WriteNumber("streamFailures", r.StreamFailures);
        w.WriteStartObject("errors");
        foreach (var (kind, count) in r.Errors)
        {
            w.WriteNumber(kind, count);
        }

        w.WriteEndObject();
        w.WriteStartArray("watchFailures");
        foreach (var failure in r.WatchFailures)
        {
            w.WriteStringValue(failure);
        }

        w.WriteEndArray();
        w.WriteStartArray("metricsScrapeMs");
        foreach (var took in r.ScrapeTimes)
        {
            w.WriteNumberValue(took.TotalMilliseconds);
        }

        w.WriteEndArray();
        w.WriteNumber("eventsDropped", r.EventsDropped);
        w.WriteEndObject();

        var verdict = r.Verdict;
        w.WriteStartObject("target");
        w.WriteNumber("p99Ms", o.TargetP99.TotalMilliseconds);
        w.WriteBoolean("met", verdict.Met);
        w.WriteStartArray("reasons");
        foreach (var reason in verdict.Reasons)
        {
            w.WriteStringValue(reason);
        }

        w.WriteEndArray();
        w.WriteEndObject();
        w.WriteEndObject();
    }

    private static void Latency(Utf8JsonWriter w, string name, LatencySummary? s)
    {
        if (s is null)
        {
            w.WriteNull(name);
            return;
        }

        w.WriteStartObject(name);
        w.WriteNumber("count", s.Count);
        w.WriteNumber("p50Ms", s.P50Ms);
        w.WriteNumber("p90Ms", s.P90Ms);
        w.WriteNumber("p99Ms", s.P99Ms);
        w.WriteNumber("p999Ms", s.P999Ms);
        w.WriteNumber("maxMs", s.MaxMs);
        w.WriteNumber("meanMs", s.MeanMs);
        w.WriteEndObject();
    }
}
