using System.Collections.Concurrent;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.State;

/// <summary>
/// The live picture of the region: one <see cref="NodeRecord"/> per node, replaced atomically on each
/// report. Safe for concurrent updates from thousands of link streams and concurrent readers.
/// </summary>
public sealed class FleetState
{
    private readonly ConcurrentDictionary<NodeKey, NodeRecord> _nodes = new();

    // Cluster → its node keys sorted by node name (copy-on-write; nodes are never removed), so a
    // cluster's records are found without scanning the region: ClusterNodes runs on every report
    // while a watch is open.
    private readonly ConcurrentDictionary<string, NodeKey[]> _clusters = new(StringComparer.Ordinal);
    private readonly Lock _clustersLock = new();
    private long _nextSessionId;

    /// <summary>Raised after a record changed (previous is null for a new node). Handlers must be fast.</summary>
    public event Action<NodeRecord?, NodeRecord>? Changed;

    public int Count => _nodes.Count;

    public long NewSessionId() => Interlocked.Increment(ref _nextSessionId);

    /// <summary>
    /// Claims a node identity for a session. Refused when another live session (a different agent
    /// process that is connected and not stale) holds it: two agents claiming one node is a
    /// misconfiguration that must not overwrite each other's reports.
    /// </summary>
    public RegistrationResult Register(AgentHello hello, long sessionId, string peer, DateTimeOffset now, TimeSpan staleAfter)
    {
        var key = new NodeKey(hello.Identity.Cluster, hello.Identity.Name);
        while (true)
        {
            var fresh = new NodeRecord { Key = key, Hello = hello, SessionId = sessionId, Peer = peer, ConnectedAt = now };
            if (!_nodes.TryGetValue(key, out var existing))
            {
                if (_nodes.TryAdd(key, fresh))
                {
                    AddToCluster(key);
                    Changed?.Invoke(null, fresh);
                    return RegistrationResult.Accepted(fresh, replaced: null);
                }

                continue;
            }

            var sameAgent = existing.Hello.InstanceId == hello.InstanceId;
            if (existing.Connected && !sameAgent && !existing.IsStale(now, staleAfter))
            {
                return RegistrationResult.Duplicate(existing);
            }

            var updated = existing with
            {
                Hello = hello, SessionId = sessionId, Peer = peer, ConnectedAt = now, Connected = true,
                LastSequence = sameAgent ? existing.LastSequence : 0,
                HighestEpochSeen = hello.HighestEpochSeen, Fenced = hello.Fenced,
            };
            if (_nodes.TryUpdate(key, updated, existing))
            {
                Changed?.Invoke(existing, updated);
                return RegistrationResult.Accepted(updated, existing);
            }
        }
    }

    /// <summary>Applies a report of the owning session; returns null when the session no longer owns the node.</summary>
    public NodeRecord? ApplyReport(NodeKey key, long sessionId, AgentReport report, DateTimeOffset now)
    {
        while (_nodes.TryGetValue(key, out var existing) && existing.SessionId == sessionId)
        {
            // Agents send server settings only when they re-read them (every slow refresh): keep the last ones.
            if (report.Snapshot is { Settings: null } snapshot && existing.Snapshot?.Settings is { } settings)
            {
                snapshot.Settings = settings;
            }

            var updated = existing with
            {
                LastReportAt = now,
                LastSequence = report.Sequence,
                Snapshot = report.Snapshot ?? existing.Snapshot,
                Archive = report.Archive ?? existing.Archive,
                HighestEpochSeen = Math.Max(existing.HighestEpochSeen, report.HighestEpochSeen),
                Fenced = report.Fenced,
                Connected = true,
            };
            if (_nodes.TryUpdate(key, updated, existing))
            {
                Changed?.Invoke(existing, updated);
                return updated;
            }
        }

        return null;
    }

    /// <summary>Marks the node disconnected if the ending session still owns it.</summary>
    public NodeRecord? Disconnect(NodeKey key, long sessionId)
    {
        while (_nodes.TryGetValue(key, out var existing) && existing.SessionId == sessionId && existing.Connected)
        {
            var updated = existing with { Connected = false };
            if (_nodes.TryUpdate(key, updated, existing))
            {
                Changed?.Invoke(existing, updated);
                return updated;
            }
        }

        return null;
    }

    public NodeRecord? Get(NodeKey key) => _nodes.GetValueOrDefault(key);

    /// <summary>Every node, as of now (each record consistent in itself).</summary>
    public IReadOnlyList<NodeRecord> Nodes() => [.. _nodes.Values];

    public IReadOnlyList<NodeRecord> ClusterNodes(string cluster)
    {
        if (!_clusters.TryGetValue(cluster, out var keys))
        {
            return [];
        }

        var records = new List<NodeRecord>(keys.Length);
        foreach (var key in keys)
        {
            if (_nodes.TryGetValue(key, out var record))
            {
                records.Add(record);
            }
        }

        return records;
    }

    public IReadOnlyList<string> ClusterNames() => [.. _clusters.Keys.Order(StringComparer.Ordinal)];

    private void AddToCluster(NodeKey key)
    {
        lock (_clustersLock)
        {
            var keys = _clusters.GetValueOrDefault(key.Cluster, []);
            var index = Array.BinarySearch(keys, key, NodeNameComparer.Instance);
            if (index >= 0)
            {
                return;
            }

            index = ~index;
            _clusters[key.Cluster] = [.. keys.AsSpan(0, index), key, .. keys.AsSpan(index)];
        }
    }

    private sealed class NodeNameComparer : IComparer<NodeKey>
    {
        public static readonly NodeNameComparer Instance = new();

        public int Compare(NodeKey x, NodeKey y) => string.CompareOrdinal(x.Node, y.Node);
    }
}

public sealed record RegistrationResult(bool IsAccepted, NodeRecord Record, NodeRecord? Replaced)
{
    public static RegistrationResult Accepted(NodeRecord record, NodeRecord? replaced) => new(true, record, replaced);

    public static RegistrationResult Duplicate(NodeRecord holder) => new(false, holder, null);
}
