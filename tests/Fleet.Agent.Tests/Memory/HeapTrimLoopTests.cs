using Fleet.Agent.Configuration;
using Fleet.Agent.Memory;
using Fleet.Agent.Tests.Collection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Tests.Memory;

/// <summary>The loop against the real runtime: what the policy decides is carried out by the GC.</summary>
public sealed class HeapTrimLoopTests
{
    [Fact]
    public async Task Loop_AfterStartUp_CompactsTheRealHeapOnce()
    {
        var time = new ManualTimeProvider();
        var stats = new HeapTrimStats();
        var options = Options.Create(new AgentOptions { Memory = { Gen0Budget = 0, CompactInterval = TimeSpan.FromMinutes(5) } });
        using var loop = new HeapTrimLoop(options, time, stats, NullLogger<HeapTrimLoop>.Instance);
        var fullCollectionsBefore = GC.CollectionCount(GC.MaxGeneration);

        await loop.StartAsync(CancellationToken.None);
        // The loop starts on its own thread and ticks each real second, reading the manual clock: move the
        // clock on until its first compaction (bounded), then no further, so a second one cannot fall due.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (stats.Compactions == 0)
        {
            time.Advance(HeapTrimPolicy.FirstCompaction);
            await Task.Delay(TimeSpan.FromMilliseconds(50), deadline.Token);
        }

        await loop.StopAsync(CancellationToken.None);

        Assert.Equal(1, stats.Compactions);
        Assert.Equal(0, stats.Gen0Collections);
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > fullCollectionsBefore);
    }

    [Fact]
    public async Task Loop_BothOff_EndsAtOnceWithoutCollecting()
    {
        var stats = new HeapTrimStats();
        var options = Options.Create(new AgentOptions { Memory = { Gen0Budget = 0, CompactInterval = TimeSpan.Zero } });
        using var loop = new HeapTrimLoop(options, new ManualTimeProvider(), stats, NullLogger<HeapTrimLoop>.Instance);

        await loop.StartAsync(CancellationToken.None);

        Assert.NotNull(loop.ExecuteTask);
        await loop.ExecuteTask.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((0L, 0L), (stats.Gen0Collections, stats.Compactions));
    }

    [Fact]
    public void NativeHeap_OnThisGlibcSystem_TrimsAndTakesTheMmapThreshold()
    {
        // Debian (CI and the documented deployments) ships glibc; elsewhere both are no-ops that say so.
        Assert.True(File.Exists("/lib/x86_64-linux-gnu/libc.so.6") || File.Exists("/lib/aarch64-linux-gnu/libc.so.6"), "not a glibc system");

        Assert.True(NativeHeap.Trim());
        Assert.True(NativeHeap.SetMmapThreshold(64 * 1024));
    }
}
