namespace Fleet.Aggregator.Failover;

/// <summary>
/// What the failover controller remembers of one cluster, beyond the fleet state: the primary it
/// publishes, since when, its last lease grant, and a promotion whose outcome is not confirmed. Immutable;
/// the controller swaps whole values. The primary and the pending promotion are also kept in the store.
/// </summary>
public sealed record ClusterMemory
{
    /// <summary>The published primary.</summary>
    public required string Primary { get; init; }

    /// <summary>When this aggregator began to know <see cref="Primary"/> as the primary (its start-up, after a restart).</summary>
    public required DateTimeOffset Since { get; init; }

    /// <summary>
    /// The last lease granted to the primary. After a restart this is the start-up time: the previous
    /// incarnation may have granted one just before it stopped, and it must be assumed to run its course.
    /// </summary>
    public DateTimeOffset? LastGrantAt { get; init; }

    /// <summary>When the primary's agent first reported Postgres not up; null while up.</summary>
    public DateTimeOffset? PostgresDownSince { get; init; }

    /// <summary>A replica sent Promote whose outcome is unknown (see <see cref="ClusterObservation.PendingCandidate"/>).</summary>
    public string? PendingCandidate { get; init; }

    public ulong PendingEpoch { get; init; }
}
