using System.Diagnostics;
using Fleet.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Memory;

/// <summary>
/// Sets glibc's mmap threshold (Memory:MmapThreshold), then once a second reads the runtime's allocation
/// figures and resident memory and carries out what <see cref="HeapTrimPolicy"/> decides (Memory:Gen0Budget,
/// Memory:CompactInterval, Memory:TrimGrowth). Nothing else lives here.
/// </summary>
internal sealed class HeapTrimLoop(IOptions<AgentOptions> options, TimeProvider time, HeapTrimStats stats, ILogger<HeapTrimLoop> logger)
    : BackgroundService
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var memory = options.Value.Memory;
        if (memory.MmapThreshold > 0)
        {
            HeapTrimLog.MmapThreshold(logger, memory.MmapThreshold, NativeHeap.SetMmapThreshold(memory.MmapThreshold));
        }

        var policy = new HeapTrimPolicy(memory.Gen0Budget, memory.CompactInterval, memory.TrimGrowth);
        if (!policy.Enabled)
        {
            HeapTrimLog.Disabled(logger);
            return;
        }

        HeapTrimLog.Started(logger, memory.Gen0Budget, memory.CompactInterval, HeapTrimPolicy.FirstCompaction);
        var started = time.GetTimestamp();
        using var timer = new PeriodicTimer(Tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var reading = new HeapReading(time.GetElapsedTime(started), GC.GetTotalAllocatedBytes(), GC.CollectionCount(0), Environment.WorkingSet);
                switch (policy.Decide(reading))
                {
                    case HeapAction.CollectGen0:
                        GC.Collect(0, GCCollectionMode.Forced, blocking: true, compacting: false);
                        stats.CountGen0();
                        break;
                    case HeapAction.Compact:
                        Compact();
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }

    private void Compact()
    {
        var before = Environment.WorkingSet;
        var stopwatch = Stopwatch.StartNew();
        // Aggressive: compacts every generation and decommits what is free, so resident memory goes down.
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        NativeHeap.Trim();
        stopwatch.Stop();
        stats.CountCompaction();
        HeapTrimLog.Compacted(logger, stopwatch.Elapsed.TotalMilliseconds, before, Environment.WorkingSet, GC.GetGCMemoryInfo().HeapSizeBytes);
    }
}
