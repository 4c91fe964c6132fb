using Fleet.Protos.V1;

namespace Fleet.Aggregator.State;

public readonly record struct NodeKey(string Cluster, string Node)
{
    public override string ToString() => $"{Cluster}/{Node}";
}

/// <summary>
/// What the aggregator knows about one node. Immutable: every report replaces the record atomically,
/// so readers always see one consistent report, never a mix of two.
/// </summary>
public sealed record NodeRecord
{
    public required NodeKey Key { get; init; }

    public required AgentHello Hello { get; init; }

    /// <summary>The link session that owns this node now; reports from older sessions are ignored.</summary>
    public required long SessionId { get; init; }

    public required string Peer { get; init; }

    public required DateTimeOffset ConnectedAt { get; init; }

    public bool Connected { get; init; } = true;

    public DateTimeOffset LastReportAt { get; init; }

    public ulong LastSequence { get; init; }

    public NodeSnapshot? Snapshot { get; init; }

    public ArchiveStatus? Archive { get; init; }

    public ulong HighestEpochSeen { get; init; }

    public bool Fenced { get; init; }

    /// <summary>Role from the latest snapshot, else from the hello.</summary>
    public NodeRole Role => Snapshot?.Role ?? Hello.Role;

    /// <summary>Silent longer than <paramref name="staleAfter"/> (reports stopped, stream or not).</summary>
    public bool IsStale(DateTimeOffset now, TimeSpan staleAfter) => now - LastActivity > staleAfter;

    public DateTimeOffset LastActivity => LastReportAt > ConnectedAt ? LastReportAt : ConnectedAt;
}
