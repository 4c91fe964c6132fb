using Fleet.Protos.V1;

namespace Fleet.Aggregator.Store;

/// <summary>
/// The aggregator's durable store: fleet events, alert state and history, failover epochs, the audit
/// log and named sequences. Every method is safe to call concurrently. Writes are serialised; reads run
/// in parallel with them. docs/store.md describes the schema and the durability of each write.
/// </summary>
/// <remarks>
/// String filters that are null or empty match everything (the fleet.v1 convention). Limits must be at
/// least 1; larger than <see cref="StoreLimits.MaxPageSize"/> (1,000) is capped to it.
/// </remarks>
internal interface IFleetStore
{
    /// <summary>
    /// Opens the database file, creates its directory and applies pending schema migrations. Must complete
    /// before any other method is called; calling it again is a no-op. Fails with
    /// <see cref="StoreSchemaException"/> if the file's schema is newer than this code knows.
    /// </summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>
    /// True when the region's aggregators share this store (PostgreSQL): then only the leader writes
    /// the fleet's history, and every aggregator's watchers learn of events by tailing it.
    /// </summary>
    bool IsShared => false;

    // ---- Events -------------------------------------------------------------------------------------

    /// <summary>Appends one event and returns the ID assigned to it. The argument is not modified.</summary>
    async Task<ulong> AppendEventAsync(Event fleetEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(fleetEvent);
        var ids = await AppendEventsAsync([fleetEvent], cancellationToken);
        return ids[0];
    }

    /// <summary>
    /// Appends events in one transaction and returns their IDs in the same order. IDs only grow and are
    /// never reused, not even after pruning. An event without a time gets the store's current time.
    /// </summary>
    Task<IReadOnlyList<ulong>> AppendEventsAsync(IReadOnlyList<Event> events, CancellationToken cancellationToken);

    /// <summary>Events matching every filter of <paramref name="query"/>, newest (highest ID) first.</summary>
    Task<IReadOnlyList<Event>> QueryEventsAsync(EventQuery query, CancellationToken cancellationToken);

    /// <summary>Events with an ID above <paramref name="afterId"/>, oldest first: how a watcher catches up.</summary>
    Task<IReadOnlyList<Event>> GetEventsAfterAsync(ulong afterId, int limit, CancellationToken cancellationToken);

    /// <summary>The highest event ID ever assigned (0 if none), including pruned events.</summary>
    Task<ulong> GetLastEventIdAsync(CancellationToken cancellationToken);

    // ---- Alerts -------------------------------------------------------------------------------------

    /// <summary>
    /// Stores the current state of the alert with <see cref="Alert.Id"/>. A new alert or a change of
    /// <see cref="Alert.State"/> also adds an entry to the alert history.
    /// </summary>
    Task<AlertUpsertResult> UpsertAlertAsync(Alert alert, CancellationToken cancellationToken);

    /// <summary>PENDING and FIRING alerts, most severe first, then oldest first.</summary>
    Task<IReadOnlyList<Alert>> ListActiveAlertsAsync(string? cluster, CancellationToken cancellationToken);

    /// <summary>State transitions of alerts, newest first.</summary>
    Task<IReadOnlyList<AlertHistoryEntry>> QueryAlertHistoryAsync(AlertHistoryQuery query, CancellationToken cancellationToken);

    // ---- Failover epochs ----------------------------------------------------------------------------

    /// <summary>The cluster's current epoch; 0 for a cluster that never had one.</summary>
    Task<ulong> GetEpochAsync(string cluster, CancellationToken cancellationToken);

    /// <summary>Every cluster's current epoch.</summary>
    Task<IReadOnlyDictionary<string, ulong>> ListEpochsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Compare-and-set: raises the cluster's epoch to <paramref name="newEpoch"/> only if it is still
    /// <paramref name="expectedCurrent"/>. Atomic, and fsync'd before it returns success.
    /// <paramref name="newEpoch"/> must be greater than <paramref name="expectedCurrent"/>.
    /// </summary>
    Task<EpochAdvanceResult> TryAdvanceEpochAsync(string cluster, ulong expectedCurrent, ulong newEpoch, CancellationToken cancellationToken);

    // ---- Published primaries ------------------------------------------------------------------------

    /// <summary>Records the cluster's published primary and any unconfirmed promotion (upsert, fsync'd).</summary>
    Task SavePrimaryAsync(ClusterPrimary primary, CancellationToken cancellationToken);

    /// <summary>Every cluster's recorded primary.</summary>
    Task<IReadOnlyList<ClusterPrimary>> ListPrimariesAsync(CancellationToken cancellationToken);

    // ---- Audit log ----------------------------------------------------------------------------------

    /// <summary>Appends an audit record (fsync'd) and returns its ID. <see cref="AuditRecord.Id"/> is ignored.</summary>
    Task<long> AppendAuditAsync(AuditRecord record, CancellationToken cancellationToken);

    /// <summary>Audit records matching every filter, newest first.</summary>
    Task<IReadOnlyList<AuditRecord>> QueryAuditAsync(AuditQuery query, CancellationToken cancellationToken);

    // ---- Sequences ----------------------------------------------------------------------------------

    /// <summary>
    /// Returns the next value (1, 2, 3, ...) of the named durable counter, e.g. "failover_decision".
    /// Each value is handed out once, also across restarts (fsync'd).
    /// </summary>
    Task<long> NextSequenceValueAsync(string name, CancellationToken cancellationToken);

    // ---- Retention ----------------------------------------------------------------------------------

    /// <summary>
    /// Deletes events and resolved-alert history older than the retention age (relative to
    /// <paramref name="now"/>) or beyond the configured row counts. Works in small transactions so
    /// appends are not held up. Audit records and epochs are never pruned.
    /// </summary>
    Task<PruneResult> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken);
}
