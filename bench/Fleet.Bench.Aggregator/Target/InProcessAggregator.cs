using System.Runtime;
using Fleet.Bench.Aggregator.Measurement;
using Microsoft.AspNetCore.Builder;

namespace Fleet.Bench.Aggregator.Target;

/// <summary>
/// fleet-aggregator hosted in the benchmark's own process (AggregatorHost.Build). Simpler to profile,
/// but its CPU and memory are the process's, load generator included, and it runs with this process's
/// GC settings (workstation), not the aggregator's (server GC).
/// </summary>
internal sealed class InProcessAggregator(AggregatorSettings settings) : AggregatorTarget(settings)
{
    private WebApplication? _app;

    public override string Description => $"in process (pid {Environment.ProcessId}): AggregatorHost.Build";

    public override bool Isolated => false;

    public override int Pid => Environment.ProcessId;

    public override string GcMode => GCSettings.IsServerGC ? "server (bench process)" : "workstation (bench process)";

    public override bool IsRunning => _app is not null;

    public override CpuTime ReadCpu() => ProcStats.CurrentProcessCpu();

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _app = Fleet.Aggregator.AggregatorHost.Build(null, Settings.ToKeys());
        await _app.StartAsync(cancellationToken);
        await WaitReadyAsync(() => null, cancellationToken);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await app.StopAsync(timeout.Token);
            await app.DisposeAsync();
        }
    }
}
