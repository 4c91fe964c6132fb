using System.Diagnostics;
using System.Globalization;

namespace Fleet.Bench.Aggregator.Measurement;

/// <summary>Scrapes the aggregator's GET /metrics (Prometheus text) for the ingest counters.</summary>
internal sealed class MetricsScraper(Uri httpAddress) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(120) };

    public async Task<MetricsSample> ScrapeAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var startedAt = DateTime.UtcNow;
        var text = await _http.GetStringAsync(new Uri(httpAddress, "/metrics"), cancellationToken);
        var took = Stopwatch.GetElapsedTime(started);
        double? reports = null, connected = null, stale = null, disconnected = null, dropped = null;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            if (line.StartsWith("fleet_ingest_reports_total "))
            {
                reports = Value(line);
            }
            else if (line.StartsWith("fleet_aggregator_agents{presence=\"connected\"}"))
            {
                connected = Value(line);
            }
            else if (line.StartsWith("fleet_aggregator_agents{presence=\"stale\"}"))
            {
                stale = Value(line);
            }
            else if (line.StartsWith("fleet_aggregator_agents{presence=\"disconnected\"}"))
            {
                disconnected = Value(line);
            }
            else if (line.StartsWith("fleet_events_dropped_total "))
            {
                dropped = Value(line);
            }
        }

        // The aggregator writes fleet_ingest_reports_total before its per-node families (the slow part
        // at thousands of nodes), so the counter is read close to the start of the request.
        return new MetricsSample(startedAt, took, text.Length, (long)(reports ?? -1), (long)(connected ?? -1), (long)(stale ?? -1), (long)(disconnected ?? -1), (long)(dropped ?? -1));
    }

    public void Dispose() => _http.Dispose();

    private static double Value(ReadOnlySpan<char> line)
    {
        var space = line.LastIndexOf(' ');
        return double.Parse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}

internal sealed record MetricsSample(DateTime At, TimeSpan Took, int Bytes, long ReportsTotal, long Connected, long Stale, long Disconnected, long EventsDropped);
