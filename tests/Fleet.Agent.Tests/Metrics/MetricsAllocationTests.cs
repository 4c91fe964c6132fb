using System.Buffers;
using Fleet.Agent.Metrics;

namespace Fleet.Agent.Tests.Metrics;

/// <summary>A scrape writes into the caller's buffer; what it allocates besides must stay small and fixed.</summary>
public sealed class MetricsAllocationTests
{
    [Fact]
    public void Rendering_a_large_snapshot_allocates_little_beyond_the_output()
    {
        var snapshot = CardinalityTests.LargeCluster(databases: 50, tables: 100, topTables: 10);
        var facts = MetricsFixtures.Facts(MetricsFixtures.Archive());
        var buffer = new ArrayBufferWriter<byte>(1024 * 1024);
        AgentMetricsWriter.Write(buffer, snapshot, facts); // warm up: JIT, static tables, ArrayPool
        buffer.ResetWrittenCount();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var series = AgentMetricsWriter.Write(buffer, snapshot, facts);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(series > 600, $"only {series} series");
        Assert.True(allocated < 16 * 1024, $"one rendering of {series} series ({buffer.WrittenCount} bytes) allocated {allocated} bytes");
    }
}
