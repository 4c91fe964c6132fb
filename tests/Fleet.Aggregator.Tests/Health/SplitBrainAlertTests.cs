using Fleet.Aggregator.Tests.Coordination;
using Fleet.Protos.V1;
using Grpc.Net.Client;
using static Fleet.Aggregator.Tests.Coordination.EtcdAggregatorHostTests;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>
/// A real aggregator host and two agent links (real gRPC streams) of one cluster that both report an up, unfenced
/// primary: split_brain fires at once on both nodes; when one reports that its agent fenced it (still a primary, read-only),
/// it resolves on both.
/// </summary>
public sealed class SplitBrainAlertTests(EtcdClusterFixture etcd) : IClassFixture<EtcdClusterFixture>
{
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task TwoNodesReportWritablePrimaries_SplitBrainFiresOnBoth_ThenResolvesWhenOneIsAReplica()
    {
        await using var aggregator = await EtcdAggregatorHostTests.Aggregator.StartAsync("agg-split", "/fleet-split-" + Guid.NewGuid().ToString("N")[..8], etcd.Cluster.Endpoints);
        using var channel = GrpcChannel.ForAddress("http://" + aggregator.GrpcAddress);
        var fleet = new FleetService.FleetServiceClient(channel);
        using var node0 = new AgentLink.AgentLinkClient(channel).Connect(deadline: DateTime.UtcNow.AddSeconds(60));
        using var node1 = new AgentLink.AgentLinkClient(channel).Connect(deadline: DateTime.UtcNow.AddSeconds(60));
        await node0.RequestStream.WriteAsync(Hello("node0", NodeRole.Primary));
        await node1.RequestStream.WriteAsync(Hello("node1", NodeRole.Primary));
        Assert.True(await node0.ResponseStream.MoveNext(CancellationToken.None));
        Assert.True(await node1.ResponseStream.MoveNext(CancellationToken.None));

        // Both report up primaries, every 100 ms (bounded), until split_brain fires on both.
        var sequence = 0UL;
        async Task ReportAsync(bool node1Fenced)
        {
            sequence++;
            await node0.RequestStream.WriteAsync(Report(sequence, fenced: false));
            await node1.RequestStream.WriteAsync(Report(sequence, node1Fenced));
        }

        var firing = await ReportUntilAsync(ReportAsync, false, fleet, AlertState.Firing, alerts => alerts.Count == 2);
        Assert.Equal(["node0", "node1"], firing.Select(a => a.Node).Order());
        Assert.All(firing, a => Assert.Equal(Severity.Critical, a.Severity));
        Assert.Contains(firing, a => a.Node == "node0" && a.Message.Contains("node1 both accept writes", StringComparison.Ordinal));

        // node1's agent fenced it: it no longer accepts writes, so nothing holds on either node.
        var resolved = await ReportUntilAsync(ReportAsync, true, fleet, AlertState.Resolved, alerts => alerts.Count == 2);
        Assert.Equal(["node0", "node1"], resolved.Select(a => a.Node).Order());
        Assert.DoesNotContain((await fleet.ListAlertsAsync(new ListAlertsRequest { Cluster = "pg" }, deadline: DateTime.UtcNow.AddSeconds(10))).Alerts, a => a.Rule == "split_brain");
    }

    private static async Task<List<Alert>> ReportUntilAsync(
        Func<bool, Task> report, bool node1Fenced, FleetService.FleetServiceClient fleet, AlertState state, Func<List<Alert>, bool> done)
    {
        var deadline = DateTime.UtcNow + Condition;
        for (var i = 0; i < 200; i++)
        {
            await report(node1Fenced);
            var alerts = (await fleet.ListAlertsAsync(new ListAlertsRequest { Cluster = "pg", State = state }, deadline: DateTime.UtcNow.AddSeconds(10)))
                .Alerts.Where(a => a.Rule == "split_brain").ToList();
            if (done(alerts))
            {
                return alerts;
            }

            Assert.True(DateTime.UtcNow < deadline, $"split_brain did not reach {state} on both nodes; seen: {string.Join(", ", alerts.Select(a => $"{a.Node} {a.State}"))}");
            await Task.Delay(100);
        }

        throw new TimeoutException($"split_brain did not reach {state} on both nodes");
    }

    private static AgentMessage Report(ulong sequence, bool fenced) =>
        new() { Report = new AgentReport { Sequence = sequence, Fenced = fenced, Snapshot = new NodeSnapshot { PostgresState = PostgresState.Up, Role = NodeRole.Primary } } };
}
