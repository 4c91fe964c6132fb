namespace Fleet.Aggregator.Ingest;

/// <summary>Counters of what the link ingest accepted and refused, exported on /metrics.</summary>
public sealed class IngestCounters
{
    private long _reports;
    private long _admitted;
    private long _refusedRegion;
    private long _refusedDuplicate;
    private long _refusedMalformed;

    public long Reports => Interlocked.Read(ref _reports);

    public long Admitted => Interlocked.Read(ref _admitted);

    public long RefusedRegion => Interlocked.Read(ref _refusedRegion);

    public long RefusedDuplicate => Interlocked.Read(ref _refusedDuplicate);

    public long RefusedMalformed => Interlocked.Read(ref _refusedMalformed);

    internal void Report() => Interlocked.Increment(ref _reports);

    internal void Admit() => Interlocked.Increment(ref _admitted);

    internal void RegionRefused() => Interlocked.Increment(ref _refusedRegion);

    internal void DuplicateRefused() => Interlocked.Increment(ref _refusedDuplicate);

    internal void Malformed() => Interlocked.Increment(ref _refusedMalformed);
}
