using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>fleet_agent_*: the identity info metric, the agent's own counters, and the snapshot's freshness.</summary>
internal static class AgentSelfMetrics
{
    public static void Write(PrometheusTextWriter w, NodeSnapshot? snapshot, AgentFacts facts)
    {
        WriteInfo(w, snapshot, facts);
        w.WriteGauge("fleet_agent_uptime_seconds", "Time since the agent process started, in seconds.", facts.Uptime.TotalSeconds);
        if (facts.LinkConnected is { } connected)
        {
            w.WriteGauge("fleet_agent_link_connected", "1 while at least one link to an aggregator is up, else 0.", MetricLabels.Bool(connected));
        }

        w.WriteCounter("fleet_agent_link_reconnects_total", "Times an aggregator link was re-established.", facts.LinkReconnects);
        w.WriteCounter("fleet_agent_collection_cycles_total", "Collection cycles run, successful or not.", facts.CollectionCycles);
        w.WriteCounter("fleet_agent_collection_failures_total", "Collection cycles that failed as a whole (the collector threw).", facts.CollectionFailures);
        if (facts.LastCycleDuration is { } duration)
        {
            w.WriteGauge("fleet_agent_collection_last_duration_seconds", "Duration of the most recent collection cycle, in seconds.", duration.TotalSeconds);
        }

        if (facts.Runtime is { } runtime)
        {
            WriteRuntime(w, runtime);
        }

        w.WriteGauge("fleet_agent_snapshot_available", "1 once a snapshot was collected; 0 before the first one.", MetricLabels.Bool(snapshot is not null));
        if (snapshot is null)
        {
            return;
        }

        if (snapshot.CollectedAt is { } collectedAt)
        {
            w.WriteGauge("fleet_agent_snapshot_timestamp_seconds", "When the latest snapshot's collection started, in Unix seconds.", MetricLabels.UnixSeconds(collectedAt));
        }

        w.WriteGauge("fleet_agent_snapshot_collection_duration_seconds", "How long collecting the latest snapshot took, in seconds.", snapshot.CollectionSeconds);
        w.WriteGauge("fleet_agent_snapshot_collection_errors", "Queries or probes that failed in the latest snapshot's cycle.", snapshot.CollectionErrors.Count);
    }

    private static void WriteRuntime(PrometheusTextWriter w, AgentRuntimeFacts runtime)
    {
        w.WriteGauge("fleet_agent_resident_memory_bytes", "The agent process's resident memory (RSS), in bytes.", runtime.ResidentBytes);
        w.WriteGauge("fleet_agent_gc_heap_bytes", "The agent's managed heap after its last garbage collection, in bytes.", runtime.HeapBytes);
        w.WriteGauge("fleet_agent_gc_committed_bytes", "Memory the agent's garbage collector has committed, in bytes.", runtime.CommittedBytes);
        w.BeginFamily("fleet_agent_gc_collections_total", PrometheusMetricType.Counter, "Garbage collections of the agent process by generation, whoever started them.");
        for (var generation = 0; generation < runtime.CollectionsByGeneration.Count; generation++)
        {
            w.BeginSample();
            w.Label("generation", (ulong)generation);
            w.EndSample((ulong)runtime.CollectionsByGeneration[generation]);
        }

        w.BeginFamily("fleet_agent_gc_induced_total", PrometheusMetricType.Counter, "Collections the agent asked for itself (Memory:Gen0Budget; Memory:CompactInterval and Memory:TrimGrowth).");
        w.BeginSample();
        w.Label("kind", "gen0");
        w.EndSample((ulong)runtime.InducedGen0);
        w.BeginSample();
        w.Label("kind", "compact");
        w.EndSample((ulong)runtime.InducedCompactions);
    }

    /// <summary>fleet_agent_info: the one series carrying identity labels, so no other series needs them.</summary>
    private static void WriteInfo(PrometheusTextWriter w, NodeSnapshot? snapshot, AgentFacts facts)
    {
        var identity = facts.Identity;
        w.BeginFamily("fleet_agent_info", PrometheusMetricType.Gauge, "Identity of the node and agent; always 1. Join on instance to add these labels to other series.");
        w.BeginSample();
        w.Label("node", identity.Node);
        w.Label("cluster", identity.Cluster);
        w.Label("region", identity.Region);
        w.Label("zone", identity.Zone);
        w.Label("role", MetricLabels.Role(snapshot?.Role ?? NodeRole.Unknown));
        w.Label("version", facts.AgentVersion);
        w.Label("pg_version", snapshot?.ServerVersion ?? string.Empty);
        if (snapshot is { SystemIdentifier: not 0 })
        {
            w.Label("system_identifier", snapshot.SystemIdentifier);
        }
        else
        {
            w.Label("system_identifier", string.Empty);
        }

        w.EndSample(1);
    }
}
