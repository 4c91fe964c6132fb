using Fleet.Aggregator.State;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Failover;

/// <summary>Turns the fleet state's records of one cluster into the policy's observation. Pure.</summary>
public static class ClusterObserver
{
    /// <summary>An agent not heard from for <paramref name="silentAfter"/> counts as silent (missing reports).</summary>
    public static ClusterObservation? Observe(
        string cluster, IReadOnlyList<NodeRecord> records, string primaryName, DateTimeOffset? lastLeaseGrantedAt,
        DateTimeOffset? postgresDownSince, DateTimeOffset now, TimeSpan silentAfter)
    {
        var primary = records.FirstOrDefault(r => r.Key.Node == primaryName);
        if (primary is null)
        {
            return null;
        }

        var heardAt = primary.LastActivity;
        var silent = !primary.Connected || now - heardAt > silentAfter;
        var up = !silent && primary.Snapshot?.PostgresState == PostgresState.Up;
        DateTimeOffset? unhealthySince = silent ? heardAt : up ? null : postgresDownSince ?? now;
        var primarySnapshot = primary.Snapshot;
        var synchronous = primarySnapshot?.Standbys.Where(s => s.SyncState is "sync" or "quorum").Select(s => s.ApplicationName).ToHashSet(StringComparer.Ordinal) ?? [];
        var replicas = records.Where(r => r.Key.Node != primaryName).Select(r => new ReplicaObservation
        {
            Node = r.Key.Node,
            Region = r.Hello.Identity.Region,
            Reachable = r.Connected && now - r.LastActivity <= silentAfter,
            PostgresUp = r.Snapshot?.PostgresState == PostgresState.Up,
            InRecovery = r.Snapshot?.Role == NodeRole.Replica,
            StreamingFromPrimary = r.Snapshot?.Replica?.WalReceiver is { Status: "streaming" } receiver
                                   && (receiver.SenderPort == 0 || receiver.SenderPort == primary.Hello.AdvertisePort),
            ReceiveLsn = r.Snapshot?.Replica?.ReceiveLsn ?? 0,
            ReplayLsn = r.Snapshot?.Replica?.ReplayLsn ?? 0,
            NoFailover = r.Hello.Tags?.NoFailover ?? false,
            CandidatePriority = r.Hello.Tags?.CandidatePriority ?? 100,
            Synchronous = synchronous.Contains(r.Key.Node),
        }).ToList();
        return new ClusterObservation
        {
            Cluster = cluster,
            Region = primary.Hello.Identity.Region,
            Now = now,
            Primary = new PrimaryObservation
            {
                Node = primaryName,
                LastHeardAt = heardAt,
                PostgresUp = up,
                UnhealthySince = unhealthySince,
                ConfirmedDownAndFenced = !silent && primary.Fenced && !up,
                LastLeaseGrantedAt = lastLeaseGrantedAt,
                LastKnownLsn = primarySnapshot?.Primary?.FlushLsn ?? 0,
            },
            Replicas = replicas,
        };
    }
}
