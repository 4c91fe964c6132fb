using System.Collections.Concurrent;
using Fleet.Aggregator.State;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Every cluster's failover epoch as this aggregator knows it: the one owner. Only <see cref="FailoverController"/>
/// writes it (loaded at start, raised when it advances an epoch, re-read when it takes over a leadership term);
/// the views, the link's Welcome and every command read it through <see cref="IEpochView"/>.
/// </summary>
internal sealed class ClusterEpochs : IEpochView
{
    private readonly ConcurrentDictionary<string, ulong> _epochs = new(StringComparer.Ordinal);

    public ulong Epoch(string cluster) => _epochs.GetValueOrDefault(cluster);

    internal void Set(string cluster, ulong epoch) => _epochs[cluster] = epoch;
}
