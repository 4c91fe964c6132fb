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

    public IReadOnlyList<NodeRecord> ClusterNodes(string cluster) => [.. _nodes.Values.Where(n => n.Key.Cluster == cluster).OrderBy(n => n.Key.Node, StringComparer.Ordinal)];

    public IReadOnlyList<string> ClusterNames() => [.. _nodes.Keys.Select(k => k.Cluster).Distinct().Order(StringComparer.Ordinal)];
}

public sealed record RegistrationResult(bool IsAccepted, NodeRecord Record, NodeRecord? Replaced)
{
    public static RegistrationResult Accepted(NodeRecord record, NodeRecord? replaced) => new(true, record, replaced);

    public static RegistrationResult Duplicate(NodeRecord holder) => new(false, holder, null);
}
