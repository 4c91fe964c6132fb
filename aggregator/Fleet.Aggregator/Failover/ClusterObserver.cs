using Fleet.Aggregator.State;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Failover;

/// <summary>Turns the fleet state's records of one cluster into the policy's observation. Pure.</summary>
public static class ClusterObserver
{
    /// <summary>
    /// An agent not heard from for <paramref name="silentAfter"/> counts as silent (missing reports).
    /// A primary with no record at all (its agent has not connected since this aggregator started) counts
    /// as silent since <see cref="ClusterMemory.Since"/>; its region is then <paramref name="region"/>
    /// (the aggregator's: it admits agents of its own region only).
    /// </summary>
    public static ClusterObservation Observe(string cluster, IReadOnlyList<NodeRecord> records, ClusterMemory memory, string region, DateTimeOffset now, TimeSpan silentAfter)
    {
        var primaryObservation = ObservePrimary(records, memory, now, silentAfter);
        var primaryName = memory.Primary;
        var primary = Find(records, primaryName);
        var primarySnapshot = primary?.Snapshot;
        var synchronous = primarySnapshot?.Standbys.Where(s => s.SyncState is "sync" or "quorum").Select(s => s.ApplicationName).ToHashSet(StringComparer.Ordinal) ?? [];

        // Without the primary's advertised port, any streaming receiver counts as streaming from it: the safe side.
        var primaryPort = primary?.Hello.AdvertisePort ?? 0;
        var replicas = records.Where(r => r.Key.Node != primaryName).Select(r => new ReplicaObservation
        {
            Node = r.Key.Node,
            Region = r.Hello.Identity.Region,
            Reachable = r.Connected && now - r.LastActivity <= silentAfter,
            PostgresUp = r.Snapshot?.PostgresState == PostgresState.Up,
            InRecovery = r.Snapshot?.Role == NodeRole.Replica,
            StreamingFromPrimary = r.Snapshot?.Replica?.WalReceiver is { Status: "streaming" } receiver
                                   && (receiver.SenderPort == 0 || primaryPort == 0 || receiver.SenderPort == primaryPort),
            ReceiveLsn = r.Snapshot?.Replica?.ReceiveLsn ?? 0,
            ReplayLsn = r.Snapshot?.Replica?.ReplayLsn ?? 0,
            NoFailover = r.Hello.Tags?.NoFailover ?? false,
            CandidatePriority = r.Hello.Tags?.CandidatePriority ?? 100,
            Synchronous = synchronous.Contains(r.Key.Node),
        }).ToList();
        return new ClusterObservation
        {
            Cluster = cluster,
            Region = primary?.Hello.Identity.Region ?? region,
            Now = now,
            Primary = primaryObservation,
            Replicas = replicas,
            PendingCandidate = memory.PendingCandidate,
            PendingEpoch = memory.PendingEpoch,
        };
    }

    /// <summary>
    /// The primary's part of <see cref="Observe"/> alone: enough for <see cref="FailoverPolicy.NeedsEvaluation"/>,
    /// so the controller's periodic pass over every cluster builds nothing more for a healthy one.
    /// </summary>
    public static PrimaryObservation ObservePrimary(IReadOnlyList<NodeRecord> records, ClusterMemory memory, DateTimeOffset now, TimeSpan silentAfter)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(memory);
        return ObservePrimary(Find(records, memory.Primary), memory, now, silentAfter);
    }

    /// <summary>The same from the published primary's record alone (null when the region has none).</summary>
    public static PrimaryObservation ObservePrimary(NodeRecord? primary, ClusterMemory memory, DateTimeOffset now, TimeSpan silentAfter)
    {
        ArgumentNullException.ThrowIfNull(memory);
        var heardAt = primary?.LastActivity ?? memory.Since;
        var silent = primary is null || !primary.Connected || now - heardAt > silentAfter;
        var up = !silent && primary!.Snapshot?.PostgresState == PostgresState.Up;
        return new PrimaryObservation
        {
            Node = memory.Primary,
            LastHeardAt = heardAt,
            PostgresUp = up,
            UnhealthySince = silent ? heardAt : up ? null : memory.PostgresDownSince ?? now,
            ConfirmedDownAndFenced = !silent && primary!.Fenced && !up,
            LastLeaseGrantedAt = memory.LastGrantAt,
            LastKnownLsn = primary?.Snapshot?.Primary?.FlushLsn ?? 0,
        };
    }

    private static NodeRecord? Find(IReadOnlyList<NodeRecord> records, string node)
    {
        foreach (var record in records)
        {
            if (record.Key.Node == node)
            {
                return record;
            }
        }

        return null;
    }
}
