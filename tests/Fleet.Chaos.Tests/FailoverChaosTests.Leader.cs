using System.Net;
using System.Text.Json;
using Fleet.Chaos.Faults;
using Fleet.Protos.V1;
using Fleet.Testing.Etcd;

namespace Fleet.Chaos.Tests;

// Several aggregators (Coordination:Mode Etcd): the leader dies in the middle of a failover.
public sealed partial class FailoverChaosTests
{
    /// <summary>
    /// The leader is a separate fleet-aggregator process (agg-k) that every agent also reaches through a proxy;
    /// the fleet's own aggregator (agg-1) follows. node0's postmaster is killed and agg-k's answers to the agents
    /// are held from that moment, so its Promote can never arrive: agg-k raises the epoch and stores the pending
    /// candidate in etcd, and is SIGKILLed right then — provably mid-failover. agg-1 must take over, find the
    /// unconfirmed promotion and complete it (the candidate reports as a replica, so it is promoted again under a
    /// new epoch), with one writable primary at every sample and, synchronous, no acknowledged write lost.
    /// </summary>
    [Fact]
    public async Task LeaderAggregatorKilledMidFailover_TheOtherTakesOver_PromotesThePendingCandidate_OneWritablePrimary_NoLoss()
    {
        await using var etcd = await EtcdCluster.StartAsync(3);
        var prefix = "/fleet-chaos-" + Guid.NewGuid().ToString("N")[..8];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };

        // agg-k starts first, so it is elected; the fleet's aggregator then follows it.
        await using var leader = await SeparateAggregator.StartLeaderAsync("agg-k", "local", prefix, etcd, fast: true);
        await using var proxy = TcpFaultProxy.Start(new IPEndPoint(IPAddress.Loopback, leader.Grpc.Port));
        await using var scenario = await StartUnderSeparateLeaderAsync(prefix, etcd, leader, proxy.HttpUri);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);

        using var etcdClient = new dotnet_etcd.EtcdClient(string.Join(",", etcd.Endpoints));
        var clusterKey = $"{prefix}/local/{ChaosFleet.ClusterName}";
        var killedAt = writer.Now;
        proxy.HoldReplies();
        postgres.Primary.KillPostmaster();

        // The moment agg-k has decided: epoch 1 and the pending candidate stored in etcd. Then it dies.
        string? pending = null;
        await PollAsync(async () =>
        {
            if (await etcdClient.GetValAsync(clusterKey + "/epoch") != "1")
            {
                return false;
            }

            var json = await etcdClient.GetValAsync(clusterKey + "/state");
            if (string.IsNullOrEmpty(json))
            {
                return false;
            }

            using var state = JsonDocument.Parse(json);
            pending = state.RootElement.TryGetProperty("pendingCandidate", out var candidate) ? candidate.GetString() : null;
            return pending is not null;
        }, TimeSpan.FromSeconds(30), () => $"agg-k to decide (epoch 1 and a pending candidate in etcd)\n{leader.Output}", interval: TimeSpan.FromMilliseconds(5));
        var decidedAt = writer.Now;
        await leader.KillAsync();
        var leaderKilledAt = writer.Now;
        Output.WriteLine($"agg-k decided to promote {pending} under epoch 1 {(decidedAt - killedAt).TotalMilliseconds:F0} ms after the postmaster kill and was SIGKILLed {(leaderKilledAt - decidedAt).TotalMilliseconds:F0} ms later");
        Assert.Contains($"failover from node0 to {pending} under epoch 1", leader.Output, StringComparison.Ordinal);
        Assert.DoesNotContain($"{pending} is the primary", leader.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(writer.Acknowledgements, a => a.Node != "node0");

        // agg-1 leads once agg-k's lease runs out, and completes the failover the dead leader started.
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(45));
        var tookOver = await PollAsync(async () => (await SeparateAggregator.LeadershipAsync(http, chaos.Fleet.AggregatorHttp))?.GetProperty("isLeader").GetBoolean() == true, TimeSpan.FromSeconds(5), () => "agg-1 to lead");
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        await writer.StopAsync();
        Output.WriteLine($"writable again on {first.Node} {(first.At - killedAt).TotalMilliseconds:F0} ms after the postmaster kill, {(first.At - leaderKilledAt).TotalMilliseconds:F0} ms after agg-k was killed");

        Assert.Equal(pending, first.Node);
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        await AssertNoAcknowledgedWriteMissingAsync(scenario, first.Node);
        foreach (var replica in postgres.Replicas.Where(r => r.Name != first.Node))
        {
            Assert.False(await PostgresProbe.IsWritableAsync(replica.ConnectionString), $"{replica.Name} must not be writable next to {first.Node}");
        }

        var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == first.Node, $"agg-1 publishes {first.Node} as primary", TimeSpan.FromSeconds(20));
        Assert.Equal(2UL, cluster.Summary.Epoch);
        Assert.Equal(first.Node, await etcdClient.GetValAsync(clusterKey + "/primary"));
        Assert.Equal("2", await etcdClient.GetValAsync(clusterKey + "/epoch"));
        bool Promoted(Event e) => e.Kind == EventKind.FailoverDecision && e.Message.StartsWith($"{first.Node} promoted (epoch 2", StringComparison.Ordinal);
        Assert.Contains(await chaos.WaitForEventAsync(Promoted, "the promotion's completion event", TimeSpan.FromSeconds(30)), Promoted);
        Assert.True(tookOver);
    }

    /// <summary>
    /// The primary's whole node (agent stopped, postmaster killed) and the leader aggregator (SIGKILL) lost at the
    /// same instant: the follower must wait for the leader's lease to run out, take over, and fail over on its own.
    /// </summary>
    [Fact]
    public async Task PrimaryNodeAndLeaderAggregatorLostAtOnce_TheFollowerTakesOverAndFailsOver_OneWritablePrimary_NoLoss()
    {
        await using var etcd = await EtcdCluster.StartAsync(3);
        var prefix = "/fleet-chaos-" + Guid.NewGuid().ToString("N")[..8];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await using var leader = await SeparateAggregator.StartLeaderAsync("agg-k", "local", prefix, etcd, fast: true);
        await using var scenario = await StartUnderSeparateLeaderAsync(prefix, etcd, leader, leader.Grpc);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);

        var lostAt = writer.Now;
        var stopAgent = chaos.Fleet.Agents[0].StopAsync();
        postgres.Primary.KillPostmaster();
        await leader.KillAsync();
        await stopAgent.WaitAsync(TimeSpan.FromSeconds(15));

        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(45));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        await writer.StopAsync();
        Output.WriteLine($"writable again on {first.Node} {(first.At - lostAt).TotalMilliseconds:F0} ms after the node and the leader were lost (lease TTL 2 s, margin 1 s)");
        Assert.True((await SeparateAggregator.LeadershipAsync(http, chaos.Fleet.AggregatorHttp))?.GetProperty("isLeader").GetBoolean(), "agg-1 leads");
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        await AssertNoAcknowledgedWriteMissingAsync(scenario, first.Node);
        foreach (var replica in postgres.Replicas.Where(r => r.Name != first.Node))
        {
            Assert.False(await PostgresProbe.IsWritableAsync(replica.ConnectionString), $"{replica.Name} must not be writable next to {first.Node}");
        }

        var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == first.Node, $"agg-1 publishes {first.Node} as primary", TimeSpan.FromSeconds(20));
        Assert.Equal(1UL, cluster.Summary.Epoch);
    }

    /// <summary>
    /// A synchronous writing fleet whose own aggregator (agg-1) follows <paramref name="leader"/>, which every agent
    /// also reaches at <paramref name="leaderEndpoint"/>; returns once agg-k holds all three agents and node0 has
    /// acknowledged 20 writes.
    /// </summary>
    private async Task<WritingScenario> StartUnderSeparateLeaderAsync(string prefix, EtcdCluster etcd, SeparateAggregator leader, Uri leaderEndpoint)
    {
        var scenario = await WritingScenario.StartAsync(new ChaosFleetOptions
        {
            Synchronous = true,
            AggregatorSettings = SeparateAggregator.Coordination("agg-1", prefix, etcd, fast: true),
            AgentSettings = new Dictionary<string, string?>
            {
                ["Aggregator:Endpoints:1"] = leaderEndpoint.ToString(),
                ["Aggregator:ReconnectMaxDelay"] = "00:00:01",
            },
        }, Output.WriteLine);
        try
        {
            await leader.WaitUntilLeadingAsync(scenario.Chaos.Fleet.AggregatorHttp, ChaosFleet.ClusterName, 3, TimeSpan.FromSeconds(30));
            await scenario.Writer.WaitForAcknowledgementsAsync("node0", 20);
            return scenario;
        }
        catch
        {
            await scenario.DisposeAsync();
            throw;
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds (true) or fails the test after <paramref name="timeout"/>.</summary>
    private static async Task<bool> PollAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> what, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what()}");
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }

        return true;
    }
}
