using System.Diagnostics;
using Fleet.Bench.Aggregator.Measurement;
using Fleet.Bench.Aggregator.Simulation;
using Fleet.Bench.Aggregator.Target;

namespace Fleet.Bench.Aggregator.Reporting;

/// <summary>One line per second on stderr while the load runs: connections, rates, latency, CPU, memory.</summary>
internal sealed class ProgressPrinter(BenchOptions options, AggregatorTarget target, LoadCounters counters, WatchProbe? probe, Stopwatch clock)
{
    public string Phase { get; set; } = "ramp";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var lastSent = counters.ReportsSent;
        var lastVisible = probe?.NodeUpdates ?? 0;
        var lastCpu = target.ReadCpu();
        var lastMachine = ProcStats.MachineCpu();
        var last = clock.Elapsed;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = clock.Elapsed;
                var seconds = (now - last).TotalSeconds;
                var sent = counters.ReportsSent;
                var visible = probe?.NodeUpdates ?? 0;
                var cpu = target.ReadCpu();
                var machine = ProcStats.MachineCpu();
                var memory = target.ReadMemory();
                var second = probe?.TakeSecond();
                var machineBusy = (double)(machine.Busy - lastMachine.Busy) / Math.Max(1, machine.Total - lastMachine.Total) * Environment.ProcessorCount * 100;
                var line = $"[{now.TotalSeconds,5:F0}s] {Phase,-7} connected {counters.Connected,6}/{options.Agents}" +
                           $"  sent {(sent - lastSent) / seconds,7:F0}/s" +
                           (probe is null ? string.Empty : $"  visible {(visible - lastVisible) / seconds,7:F0}/s  p50 {second!.PercentileMs(50),6:F1} ms  p99 {second.PercentileMs(99),7:F1} ms") +
                           $"  {(target.Isolated ? "agg" : "proc")} cpu {(cpu - lastCpu).Total.TotalSeconds / seconds * 100,4:F0}%" +
                           $"  machine {machineBusy,4:F0}%/{Environment.ProcessorCount * 100}%" +
                           $"  rss {(memory?.RssBytes ?? 0) / 1048576.0,6:F0} MB" +
                           (counters.StreamFailures > 0 ? $"  failures {counters.StreamFailures}" : string.Empty);
                Console.Error.WriteLine(line);
                lastSent = sent;
                lastVisible = visible;
                lastCpu = cpu;
                lastMachine = machine;
                last = now;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
