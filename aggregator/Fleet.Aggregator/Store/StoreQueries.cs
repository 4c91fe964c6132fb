using Fleet.Protos.V1;

namespace Fleet.Aggregator.Store;

/// <summary>Page sizes accepted by the store's queries.</summary>
internal static class StoreLimits
{
    public const int MaxPageSize = 1000;

    /// <summary>Rejects a limit below 1 and caps one above <see cref="MaxPageSize"/>.</summary>
    public static int Clamp(int limit, string paramName)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1, paramName);
        return Math.Min(limit, MaxPageSize);
    }
}

/// <summary>Filters of <see cref="IFleetStore.QueryEventsAsync"/>; null or empty means "any".</summary>
internal sealed record EventQuery
{
    public string? Cluster { get; init; }

    public string? Node { get; init; }

    /// <summary>Only these kinds; null, empty or only UNSPECIFIED means all kinds.</summary>
    public IReadOnlyCollection<EventKind>? Kinds { get; init; }

    /// <summary>Only events at or after this time (millisecond precision).</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only events with a lower ID: the last ID of the previous page, to continue with older events.</summary>
    public ulong? BeforeId { get; init; }

    public int Limit { get; init; } = 100;
}

/// <summary>Filters of <see cref="IFleetStore.QueryAlertHistoryAsync"/>; null or empty means "any".</summary>
internal sealed record AlertHistoryQuery
{
    public string? Cluster { get; init; }

    /// <summary>Only transitions into this state; null or UNSPECIFIED means every state.</summary>
    public AlertState? State { get; init; }

    /// <summary>Only transitions at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    public int Limit { get; init; } = 100;
}

/// <summary>One transition of an alert: the alert as it was when it entered <see cref="Alert.State"/>.</summary>
internal sealed record AlertHistoryEntry(long Sequence, DateTimeOffset Time, Alert Alert);

/// <summary>What <see cref="IFleetStore.UpsertAlertAsync"/> did.</summary>
internal enum AlertUpsertResult
{
    /// <summary>Identical to the stored alert; nothing was written.</summary>
    Unchanged,

    /// <summary>First time this alert ID was seen; a history entry was added.</summary>
    Inserted,

    /// <summary>The state changed; a history entry was added.</summary>
    StateChanged,

    /// <summary>Same state, other fields (value, message, ...) changed; no history entry.</summary>
    Updated,
}

/// <summary>Outcome of a compare-and-set of a cluster's epoch.</summary>
/// <param name="Succeeded">The epoch was raised (and is durable).</param>
/// <param name="CurrentEpoch">The cluster's epoch after the call: the new one on success, else the one that blocked it.</param>
internal readonly record struct EpochAdvanceResult(bool Succeeded, ulong CurrentEpoch);

/// <summary>
/// The primary Fleet publishes for a cluster, and a promotion whose outcome was never confirmed: a
/// candidate sent (or about to be sent) Promote under <see cref="PendingEpoch"/>. A restarted aggregator
/// resumes from this, and only the pending candidate may be promoted until it reports.
/// </summary>
internal sealed record ClusterPrimary(string Cluster, string Primary, ulong Epoch, string? PendingCandidate, ulong PendingEpoch)
{
    /// <summary>The primary before the last completed change: asked to rejoin as a replica when it returns.</summary>
    public string? FormerPrimary { get; init; }

    /// <summary>Set by the store when read; ignored on save.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>One audit record: a decision or refusal, who made it, and why.</summary>
internal sealed record AuditRecord
{
    /// <summary>Assigned by the store; ignored on append.</summary>
    public long Id { get; init; }

    public required DateTimeOffset Time { get; init; }

    /// <summary>Operator identity, "aggregator" (automatic), or "agent:&lt;node&gt;".</summary>
    public required string Actor { get; init; }

    /// <summary>What was decided or requested, e.g. "failover", "switchover", "agent_admission".</summary>
    public required string Action { get; init; }

    public string Cluster { get; init; } = string.Empty;

    public string Node { get; init; } = string.Empty;

    /// <summary>The decision or outcome, e.g. "promoted", "refused", "denied".</summary>
    public required string Outcome { get; init; }

    public IReadOnlyList<string> Reasons { get; init; } = [];

    /// <summary>Further details as a JSON document (validated on append); null for none.</summary>
    public string? DetailsJson { get; init; }
}

/// <summary>Filters of <see cref="IFleetStore.QueryAuditAsync"/>; null or empty means "any".</summary>
internal sealed record AuditQuery
{
    public string? Cluster { get; init; }

    public string? Actor { get; init; }

    public string? Action { get; init; }

    public DateTimeOffset? Since { get; init; }

    /// <summary>Only records with a lower ID, to page to older records.</summary>
    public long? BeforeId { get; init; }

    public int Limit { get; init; } = 100;
}

/// <summary>Rows deleted by one <see cref="IFleetStore.PruneAsync"/>.</summary>
internal sealed record PruneResult(long EventsDeleted, long AlertHistoryDeleted, long ResolvedAlertsDeleted)
{
    public long Total => EventsDeleted + AlertHistoryDeleted + ResolvedAlertsDeleted;
}
