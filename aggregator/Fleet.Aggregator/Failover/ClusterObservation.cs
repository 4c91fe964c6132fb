namespace Fleet.Aggregator.Failover;

/// <summary>
/// Everything the failover policy looks at for one cluster, at one instant. Built from the fleet state by
/// the controller; the policy itself never reads anything else.
/// </summary>
public sealed record ClusterObservation
{
    public required string Cluster { get; init; }

    /// <summary>Region of the current primary: automatic failover never leaves it.</summary>
    public required string Region { get; init; }

    public required DateTimeOffset Now { get; init; }

    public required PrimaryObservation Primary { get; init; }

    public required IReadOnlyList<ReplicaObservation> Replicas { get; init; }

    /// <summary>
    /// A replica sent Promote under <see cref="PendingEpoch"/> whose outcome was never confirmed (the
    /// promote timed out, or the aggregator restarted mid-failover): it may be a primary already, so no
    /// other node may be promoted until it reports. Null when there is none.
    /// </summary>
    public string? PendingCandidate { get; init; }

    public ulong PendingEpoch { get; init; }
}

/// <summary>What is known of the current primary.</summary>
public sealed record PrimaryObservation
{
    public required string Node { get; init; }

    /// <summary>Last report received from its agent (or connection time when none yet).</summary>
    public required DateTimeOffset LastHeardAt { get; init; }

    /// <summary>Its agent reports Postgres up (false when silent: unknown counts as not up).</summary>
    public required bool PostgresUp { get; init; }

    /// <summary>When its Postgres was first reported down, or its agent first fell silent; null while healthy.</summary>
    public DateTimeOffset? UnhealthySince { get; init; }

    /// <summary>Its agent reported Postgres down and fenced: it will not start it again on its own.</summary>
    public bool ConfirmedDownAndFenced { get; init; }

    /// <summary>When the aggregator last granted it a lease; null if never.</summary>
    public DateTimeOffset? LastLeaseGrantedAt { get; init; }

    /// <summary>Its last known WAL position (flush LSN), to measure candidates' lag.</summary>
    public ulong LastKnownLsn { get; init; }
}

/// <summary>What is known of one replica.</summary>
public sealed record ReplicaObservation
{
    public required string Node { get; init; }

    public required string Region { get; init; }

    /// <summary>Agent connected and reporting recently (not stale).</summary>
    public required bool Reachable { get; init; }

    public required bool PostgresUp { get; init; }

    public required bool InRecovery { get; init; }

    /// <summary>Its WAL receiver streams from the current primary.</summary>
    public required bool StreamingFromPrimary { get; init; }

    public ulong ReceiveLsn { get; init; }

    public ulong ReplayLsn { get; init; }

    public bool NoFailover { get; init; }

    public int CandidatePriority { get; init; } = 100;

    /// <summary>The primary lists it as its synchronous standby (sync_state sync or quorum).</summary>
    public bool Synchronous { get; init; }
}
