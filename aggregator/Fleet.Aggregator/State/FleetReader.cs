using Fleet.Aggregator.Configuration;
using Fleet.Protos.V1;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.State;

/// <summary>Builds API views of the fleet (shared by gRPC, HTTP JSON, the dashboard and the watch).</summary>
public sealed class FleetReader(FleetState fleet, IAlertView alerts, IEpochView epochs, IPrimaryView primaries, IOptions<AggregatorOptions> options, TimeProvider time)
{
    private TimeSpan StaleAfter => options.Value.Link.StaleAfter;

    public IReadOnlyList<ClusterSummary> ListClusters()
    {
        var now = time.GetUtcNow();
        return [.. fleet.ClusterNames().Select(name => Summary(name, now))];
    }

    public Cluster? GetCluster(string name)
    {
        var records = fleet.ClusterNodes(name);
        if (records.Count == 0)
        {
            return null;
        }

        var context = ClusterContext.Build(records, alerts.ActiveAlerts(name), epochs.Epoch(name), time.GetUtcNow(), StaleAfter, primaries.Primary(name));
        return FleetViews.ToCluster(name, records, context);
    }

    public Node? GetNode(string cluster, string node, bool includeSnapshot = true)
    {
        var record = fleet.Get(new NodeKey(cluster, node));
        if (record is null)
        {
            return null;
        }

        return FleetViews.ToNode(record, Context(cluster), includeSnapshot);
    }

    public Node ToNode(NodeRecord record, bool includeSnapshot) => FleetViews.ToNode(record, Context(record.Key.Cluster), includeSnapshot);

    private ClusterContext Context(string cluster) =>
        ClusterContext.Build(fleet.ClusterNodes(cluster), alerts.ActiveAlerts(cluster), epochs.Epoch(cluster), time.GetUtcNow(), StaleAfter, primaries.Primary(cluster));

    private ClusterSummary Summary(string name, DateTimeOffset now)
    {
        var records = fleet.ClusterNodes(name);
        var context = ClusterContext.Build(records, alerts.ActiveAlerts(name), epochs.Epoch(name), now, StaleAfter, primaries.Primary(name));
        return FleetViews.ToSummary(name, records, context);
    }
}

/// <summary>The primary Fleet publishes per cluster (set by the failover controller); null while unknown.</summary>
public interface IPrimaryView
{
    string? Primary(string cluster);
}

/// <summary>Current failover epoch per cluster (0 until the first failover or switchover).</summary>
public interface IEpochView
{
    ulong Epoch(string cluster);
}
