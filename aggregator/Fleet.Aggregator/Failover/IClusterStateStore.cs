using Fleet.Aggregator.Store;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// The durable record of each cluster's epoch and published primary (with its pending promotion and former
/// primary): what a restarted or newly elected aggregator resumes from. One owner: the failover controller.
/// Mode None keeps it in the aggregator's SQLite store (<see cref="LocalClusterState"/>); Mode Etcd in etcd,
/// every write conditioned on the writer still leading (<see cref="Coordination.EtcdClusterState"/>), so a
/// deposed leader's write fails with <see cref="NotLeaderException"/> and changes nothing.
/// </summary>
internal interface IClusterStateStore
{
    /// <summary>The cluster's current epoch; 0 for a cluster that never had one.</summary>
    Task<ulong> GetEpochAsync(string cluster, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, ulong>> ListEpochsAsync(CancellationToken cancellationToken);

    /// <summary>Compare-and-set of the epoch, durable before it returns success.</summary>
    Task<EpochAdvanceResult> TryAdvanceEpochAsync(string cluster, ulong expectedCurrent, ulong newEpoch, CancellationToken cancellationToken);

    Task SavePrimaryAsync(ClusterPrimary primary, CancellationToken cancellationToken);

    Task<IReadOnlyList<ClusterPrimary>> ListPrimariesAsync(CancellationToken cancellationToken);
}

/// <summary>Mode None: the aggregator's own store.</summary>
internal sealed class LocalClusterState(IFleetStore store) : IClusterStateStore
{
    public Task<ulong> GetEpochAsync(string cluster, CancellationToken cancellationToken) => store.GetEpochAsync(cluster, cancellationToken);

    public Task<IReadOnlyDictionary<string, ulong>> ListEpochsAsync(CancellationToken cancellationToken) => store.ListEpochsAsync(cancellationToken);

    public Task<EpochAdvanceResult> TryAdvanceEpochAsync(string cluster, ulong expectedCurrent, ulong newEpoch, CancellationToken cancellationToken) =>
        store.TryAdvanceEpochAsync(cluster, expectedCurrent, newEpoch, cancellationToken);

    public Task SavePrimaryAsync(ClusterPrimary primary, CancellationToken cancellationToken) => store.SavePrimaryAsync(primary, cancellationToken);

    public Task<IReadOnlyList<ClusterPrimary>> ListPrimariesAsync(CancellationToken cancellationToken) => store.ListPrimariesAsync(cancellationToken);
}
