using Fleet.EndToEnd.Tests.Infrastructure;
using Fleet.Protos.V1;
using Grpc.Core;
using Fleet.Testing;

namespace Fleet.EndToEnd.Tests;

/// <summary>Data sovereignty at the door: a real agent of another region is refused, visibly, and harms nobody.</summary>
[Collection(SharedFleetCollection.Name)]
public sealed class RegionAdmissionTests(SharedFleetFixture fixture)
{
    private const string RegionRefused = "fleet_ingest_agents_refused_total{reason=\"region\"}";

    [Fact]
    public async Task Connect_AgentOfAnotherRegion_IsRefusedEverywhereItShows()
    {
        var refusedBefore = await fixture.ReadMetricAsync(RegionRefused).DefaultTimeout();

        // A real agent, reading a real node of the fleet, configured for another region.
        await using var foreign = await fixture.StartExtraAgentAsync(postgresNode: 2, new Dictionary<string, string?>
        {
            ["Node:Name"] = "node9",
            ["Node:Region"] = "elsewhere",
            ["Archive:Region"] = "elsewhere",
        });

        // The agent itself knows it was refused, and why.
        var status = await Poll.UntilAsync(
            foreign.Client.GetStatusAsync,
            s => s.Link.State == LinkState.Rejected && s.PostgresState == PostgresState.Up,
            FleetFixture.ConditionTimeout,
            "the foreign agent's link to be REJECTED (and its Postgres collected)",
            s => $"{s.Link.State} '{s.Link.LastError}'");
        var expectedReason = "agent demo/node9 is in region 'elsewhere'; this aggregator serves only 'local'";
        Assert.Equal(expectedReason, status.Link.LastError);
        Assert.Equal(fixture.Fleet.AggregatorGrpc.ToString(), status.Link.Address);
        Assert.Equal("elsewhere", status.Identity.Region);
        Assert.Equal(PostgresState.Up, status.PostgresState);
        var refusedAt = status.Link.StateSince.ToDateTimeOffset();

        // The aggregator counted it...
        var refused = await Poll.UntilAsync(
            () => fixture.ReadMetricAsync(RegionRefused), v => v >= refusedBefore + 1, FleetFixture.ConditionTimeout, "the region refusal to be counted");
        Assert.True(refused >= 1);

        // ...recorded it as an event with the reason...
        var events = await Poll.UntilAsync(
            () => fixture.Api.ListEventsAsync(new ListEventsRequest { Kind = EventKind.AgentRejected, Cluster = FleetFixture.Cluster, Node = "node9" }),
            r => r.Events.Count > 0,
            FleetFixture.ConditionTimeout,
            "an AGENT_REJECTED event for node9");
        var rejected = events.Events[0];
        Assert.Equal(EventKind.AgentRejected, rejected.Kind);
        Assert.Equal(FleetFixture.Cluster, rejected.Cluster);
        Assert.Equal("node9", rejected.Node);
        Assert.Equal("aggregator", rejected.Actor);
        Assert.EndsWith($"refused: {expectedReason}", rejected.Message, StringComparison.Ordinal);
        Assert.Equal(new[] { expectedReason }, rejected.Reasons);
        Assert.True(rejected.Id > 0);

        // ...and logged it.
        Assert.Contains(fixture.AggregatorLogs.Entries, e => e.EventId.Id == 3002 && e.Message.Contains(expectedReason, StringComparison.Ordinal));

        // It never shows up as part of the fleet.
        var clusters = await fixture.Api.ListClustersAsync().DefaultTimeout();
        Assert.Equal(3u, Assert.Single(clusters.Clusters, c => c.Name == FleetFixture.Cluster).NodeCount);
        var cluster = await fixture.Api.GetClusterAsync(FleetFixture.Cluster).DefaultTimeout();
        Assert.Equal(FleetFixture.NodeNames, cluster.Nodes.Select(n => n.Identity.Name));
        Assert.All(cluster.Nodes, n => Assert.Equal(FleetFixture.Region, n.Identity.Region));
        var notFound = await Assert.ThrowsAsync<RpcException>(() => fixture.Api.GetNodeAsync(FleetFixture.Cluster, "node9")).DefaultTimeout();
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);

        // The three legitimate agents keep reporting.
        await fixture.WaitForReportsAfterAsync(refusedAt);
    }
}
