using System.Diagnostics;
using Fleet.Bench.Agent.Measurement;
using Fleet.Bench.Agent.Processes;

namespace Fleet.Bench.Agent.Scenarios;

/// <summary>
/// CPU over a window of exporter scrapes, one per period (as Prometheus would scrape, here at the agent's
/// cycle period so both windows have the same shape); the exporter's idle cost between scrapes is included.
/// </summary>
internal sealed record ExporterWindow(
    double Seconds, int Scrapes, double ExporterCpuMs, PostgresCost Postgres, IReadOnlyList<double> WallMs, IReadOnlyList<double> ServerScrapeMs, PromText Last)
{
    public double ExporterCpuPerScrapeMs => ExporterCpuMs / Scrapes;

    public double PostgresCpuPerScrapeMs => Postgres.ClientCpuMs / Scrapes;

    public double? ExecMsPerScrape => Postgres.ExecMs / Scrapes;

    public double? StatementsPerScrape => Postgres.Statements / (double)Scrapes;

    public double ConnectionsPerScrape => Postgres.ConnectionsOpened / (double)Scrapes;
}

internal static class ExporterMeasurements
{
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    public static async Task<ExporterWindow> ScrapeWindowAsync(
        ExporterProcess exporter, PostgresProbe probe, int postmasterPid, int scrapes, TimeSpan period, CancellationToken cancellationToken)
    {
        var walls = new List<double>(scrapes);
        var serverMs = new List<double>(scrapes);
        PromText? last = null;
        var postgres = await PostgresWindow.BeginAsync(probe, postmasterPid, cancellationToken);
        var start = ProcFs.ReadCpu(exporter.Pid) ?? throw new InvalidOperationException("exporter is gone");
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < scrapes; i++)
        {
            var due = period * i;
            if (due > stopwatch.Elapsed)
            {
                await Task.Delay(due - stopwatch.Elapsed, cancellationToken);
            }

            var scrape = await exporter.ScrapeAsync(cancellationToken);
            walls.Add(scrape.WallMs);
            if (scrape.Metrics.Value("pg_exporter_last_scrape_duration_seconds") is { } seconds)
            {
                serverMs.Add(seconds * 1000);
            }

            last = scrape.Metrics;
        }

        var windowEnd = period * scrapes;
        if (windowEnd > stopwatch.Elapsed)
        {
            await Task.Delay(windowEnd - stopwatch.Elapsed, cancellationToken);
        }

        var end = ProcFs.ReadCpu(exporter.Pid) ?? throw new InvalidOperationException($"exporter exited:{Environment.NewLine}{exporter.OutputTail()}");
        var elapsed = stopwatch.Elapsed;
        await postgres.EndCpuAsync(cancellationToken);
        var cost = await postgres.EndAsync(Settle, cancellationToken);
        return new ExporterWindow(
            elapsed.TotalSeconds, scrapes, (end.OwnTicks - start.OwnTicks) * ProcCpu.TickMilliseconds, cost, walls, serverMs, last!);
    }
}
