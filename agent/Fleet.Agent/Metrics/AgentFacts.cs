using Fleet.Agent.Configuration;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>Who this node is, from the configuration (<see cref="NodeOptions"/>); fixed for the process lifetime.</summary>
internal sealed record AgentIdentity(string Node, string Cluster, string Region, string Zone)
{
    public static AgentIdentity From(NodeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new AgentIdentity(options.Name, options.Cluster, options.Region, options.Zone);
    }
}

/// <summary>What the agent knows about itself at scrape time, next to the latest <see cref="NodeSnapshot"/>.</summary>
internal sealed record AgentFacts
{
    public required AgentIdentity Identity { get; init; }

    /// <summary>The agent's version, e.g. "0.3.0".</summary>
    public required string AgentVersion { get; init; }

    /// <summary>Time since the agent process started.</summary>
    public TimeSpan Uptime { get; init; }

    /// <summary>Whether the aggregator link is up; null when the agent runs standalone (no endpoints), which omits the series.</summary>
    public bool? LinkConnected { get; init; }

    /// <summary>Times the aggregator link was re-established after the first connection.</summary>
    public ulong LinkReconnects { get; init; }

    /// <summary>Collection cycles run since start, successful or not.</summary>
    public ulong CollectionCycles { get; init; }

    /// <summary>Collection cycles that failed as a whole (the collector threw; the snapshot then only says Unreachable).</summary>
    public ulong CollectionFailures { get; init; }

    /// <summary>How long the most recent collection cycle took; null before the first one.</summary>
    public TimeSpan? LastCycleDuration { get; init; }

    /// <summary>The agent process's own memory and collections; null leaves the fleet_agent_memory/gc families out.</summary>
    public AgentRuntimeFacts? Runtime { get; init; }

    /// <summary>The latest WAL archive verification; null when none has run or the node has no archive.</summary>
    public ArchiveStatus? ArchiveStatus { get; init; }
}

/// <summary>The agent process's footprint at scrape time (its own, not PostgreSQL's).</summary>
internal sealed record AgentRuntimeFacts(
    long ResidentBytes, long HeapBytes, long CommittedBytes, IReadOnlyList<long> CollectionsByGeneration, long InducedGen0, long InducedCompactions)
{
    /// <summary>Reads the current process; <paramref name="stats"/> counts the collections the agent asked for.</summary>
    public static AgentRuntimeFacts Read(Memory.HeapTrimStats stats)
    {
        var info = GC.GetGCMemoryInfo();
        var collections = new long[GC.MaxGeneration + 1];
        for (var generation = 0; generation < collections.Length; generation++)
        {
            collections[generation] = GC.CollectionCount(generation);
        }

        return new AgentRuntimeFacts(Environment.WorkingSet, info.HeapSizeBytes, info.TotalCommittedBytes, collections, stats.Gen0Collections, stats.Compactions);
    }
}
