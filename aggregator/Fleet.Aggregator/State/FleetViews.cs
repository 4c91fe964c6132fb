using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.State;

/// <summary>
/// Turns node records into the API's Node, Cluster and topology messages. Pure: records, alerts and
/// the clock in; messages out.
/// </summary>
public static class FleetViews
{
    public static Node ToNode(NodeRecord record, ClusterContext context, bool includeSnapshot)
    {
        var presence = Presence(record, context.Now, context.StaleAfter);
        var node = new Node
        {
            Identity = record.Hello.Identity,
            // A node Fleet cannot hear has no known role: its last report must not read as "primary".
            Role = presence == AgentPresence.Connected ? record.Role : NodeRole.Unknown,
            PostgresState = record.Snapshot?.PostgresState ?? PostgresState.Unspecified,
            Presence = presence,
            Fenced = record.Fenced,
            Tags = record.Hello.Tags,
            AgentVersion = record.Hello.AgentVersion,
            HighestEpochSeen = record.HighestEpochSeen,
        };
        if (record.LastReportAt != default)
        {
            node.LastReportAt = Timestamp.FromDateTimeOffset(record.LastReportAt);
        }

        if (record.Snapshot?.Timeline is { } timeline)
        {
            node.Timeline = timeline;
        }

        if (context.Edges.TryGetValue(record.Key.Node, out var edge))
        {
            node.Upstream = edge.Upstream;
            if (edge.HasLagBytes)
            {
                node.LagBytes = edge.LagBytes;
            }

            if (edge.HasLagSeconds)
            {
                node.LagSeconds = edge.LagSeconds;
            }
        }

        var (health, reasons) = Health(record, node.Presence, context);
        node.Health = health;
        node.HealthReasons.AddRange(reasons);
        if (includeSnapshot && record.Snapshot is not null)
        {
            node.Snapshot = record.Snapshot;
        }

        if (includeSnapshot && record.Archive is not null)
        {
            node.Archive = record.Archive;
        }

        return node;
    }

    public static Cluster ToCluster(string name, IReadOnlyList<NodeRecord> records, ClusterContext context)
    {
        var cluster = new Cluster { Summary = ToSummary(name, records, context) };
        cluster.Nodes.AddRange(records.Select(r => ToNode(r, context, includeSnapshot: true)));
        cluster.Topology.AddRange(context.Edges.Values.OrderBy(e => e.Node, StringComparer.Ordinal));
        return cluster;
    }

    public static ClusterSummary ToSummary(string name, IReadOnlyList<NodeRecord> records, ClusterContext context)
    {
        var summary = new ClusterSummary
        {
            Name = name,
            Region = records.Count > 0 ? records[0].Hello.Identity.Region : string.Empty,
            Primary = context.Primary?.Key.Node ?? string.Empty,
            Epoch = context.Epoch,
            NodeCount = (uint)records.Count,
            ConnectedNodeCount = (uint)records.Count(r => Presence(r, context.Now, context.StaleAfter) == AgentPresence.Connected),
            StreamingReplicaCount = (uint)context.Edges.Values.Count(e => e.Streaming),
            FiringAlertCount = (uint)context.Alerts.Count(a => a.State == AlertState.Firing),
            Synchronous = !string.IsNullOrEmpty(context.Primary?.Snapshot?.Primary?.SynchronousStandbyNames),
        };
        if (context.Primary?.Snapshot?.Timeline is { } timeline)
        {
            summary.Timeline = timeline;
        }

        var lags = context.Edges.Values.Where(e => e.HasLagBytes).Select(e => e.LagBytes).ToList();
        if (lags.Count > 0)
        {
            summary.MaxLagBytes = lags.Max();
        }

        var lagSeconds = context.Edges.Values.Where(e => e.HasLagSeconds).Select(e => e.LagSeconds).ToList();
        if (lagSeconds.Count > 0)
        {
            summary.MaxLagSeconds = lagSeconds.Max();
        }

        summary.Health = records.Select(r => ToNode(r, context, includeSnapshot: false).Health).DefaultIfEmpty(HealthLevel.Unknown).Max();
        summary.ArchiveVerdict = records.Select(r => r.Archive?.Verdict ?? ArchiveVerdict.Unspecified).DefaultIfEmpty().Max();
        return summary;
    }

    public static AgentPresence Presence(NodeRecord record, DateTimeOffset now, TimeSpan staleAfter) =>
        !record.Connected ? AgentPresence.Disconnected
        : record.IsStale(now, staleAfter) ? AgentPresence.Stale
        : AgentPresence.Connected;

    private static (HealthLevel Level, List<string> Reasons) Health(NodeRecord record, AgentPresence presence, ClusterContext context)
    {
        var reasons = new List<string>();
        var level = HealthLevel.Ok;
        if (presence != AgentPresence.Connected)
        {
            reasons.Add(presence == AgentPresence.Stale ? "agent silent" : "agent disconnected");
            level = HealthLevel.Unknown;
        }
        else if (record.Snapshot is { PostgresState: not PostgresState.Up } down)
        {
            reasons.Add($"postgres {down.PostgresState}: {down.PostgresError}");
            level = HealthLevel.Critical;
        }

        foreach (var alert in context.Alerts)
        {
            if (alert.State != AlertState.Firing || alert.Node != record.Key.Node)
            {
                continue;
            }

            reasons.Add(alert.Message);
            var alertLevel = alert.Severity == Severity.Critical ? HealthLevel.Critical : HealthLevel.Warning;
            if (level != HealthLevel.Unknown && alertLevel > level)
            {
                level = alertLevel;
            }
        }

        return (level, reasons);
    }
}

/// <summary>Cluster-wide facts a node view depends on: who is primary, topology, alerts, the clock.</summary>
public sealed class ClusterContext
{
    private ClusterContext(DateTimeOffset now, TimeSpan staleAfter, ulong epoch, NodeRecord? primary, Dictionary<string, TopologyEdge> edges, IReadOnlyList<Alert> alerts)
    {
        Now = now;
        StaleAfter = staleAfter;
        Epoch = epoch;
        Primary = primary;
        Edges = edges;
        Alerts = alerts;
    }

    public DateTimeOffset Now { get; }

    public TimeSpan StaleAfter { get; }

    public ulong Epoch { get; }

    /// <summary>The node reporting itself primary (the freshest one if, wrongly, several do).</summary>
    public NodeRecord? Primary { get; }

    /// <summary>Replica name → its edge to its upstream.</summary>
    public IReadOnlyDictionary<string, TopologyEdge> Edges { get; }

    public IReadOnlyList<Alert> Alerts { get; }

    /// <summary>Builds the context; <paramref name="published"/> (the failover controller's primary) wins over what reports say.</summary>
    public static ClusterContext Build(IReadOnlyList<NodeRecord> records, IReadOnlyList<Alert> clusterAlerts, ulong epoch, DateTimeOffset now, TimeSpan staleAfter, string? published = null)
    {
        // Only live reports count: a lost primary's last snapshot still says "primary, up".
        var primaries = records.Where(r => r.Role == NodeRole.Primary && r.Snapshot?.PostgresState == PostgresState.Up && r.Connected && !r.IsStale(now, staleAfter))
            .OrderByDescending(r => r.Key.Node == published).ThenByDescending(r => r.Snapshot?.Timeline ?? 0).ThenByDescending(r => r.LastReportAt).ToList();
        var primary = records.FirstOrDefault(r => r.Key.Node == published) ?? primaries.FirstOrDefault();
        var edges = new Dictionary<string, TopologyEdge>(StringComparer.Ordinal);
        foreach (var replica in records.Where(r => r.Role == NodeRole.Replica))
        {
            edges[replica.Key.Node] = Edge(replica, primaries);
        }

        return new ClusterContext(now, staleAfter, epoch, primary, edges, clusterAlerts);
    }

    private static TopologyEdge Edge(NodeRecord replica, List<NodeRecord> primaries)
    {
        var edge = new TopologyEdge { Node = replica.Key.Node };
        var receiver = replica.Snapshot?.Replica?.WalReceiver;
        edge.Streaming = receiver?.Status == "streaming";
        foreach (var primary in primaries)
        {
            var standby = primary.Snapshot?.Standbys.FirstOrDefault(s => s.ApplicationName == replica.Key.Node);
            if (standby is null)
            {
                continue;
            }

            edge.Upstream = primary.Key.Node;
            edge.SyncState = standby.SyncState;
            edge.LagBytes = standby.LagBytes;
            if (standby.HasReplayLagSeconds)
            {
                edge.LagSeconds = standby.ReplayLagSeconds;
            }

            return edge;
        }

        // Not in any primary's pg_stat_replication: name the upstream by the receiver's address.
        if (receiver is not null)
        {
            var upstream = primaries.FirstOrDefault(p => p.Hello.AdvertiseHost == receiver.SenderHost && p.Hello.AdvertisePort == receiver.SenderPort);
            edge.Upstream = upstream?.Key.Node ?? $"{receiver.SenderHost}:{receiver.SenderPort}";
        }

        if (replica.Snapshot?.Replica is { HasReplayDelaySeconds: true } r)
        {
            edge.LagSeconds = r.ReplayDelaySeconds;
        }

        return edge;
    }
}
