namespace Fleet.Agent.Memory;

/// <summary>Collections the agent asked for (fleet_agent_gc_induced_total), shared between the loop and /metrics.</summary>
internal sealed class HeapTrimStats
{
    private long _gen0;
    private long _compactions;

    public long Gen0Collections => Interlocked.Read(ref _gen0);

    public long Compactions => Interlocked.Read(ref _compactions);

    public void CountGen0() => Interlocked.Increment(ref _gen0);

    public void CountCompaction() => Interlocked.Increment(ref _compactions);
}
