using Fleet.Aggregator.Failover;
using Fleet.Aggregator.State;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Tests.Failover;

/// <summary>
/// The observation a restarted aggregator builds before the old primary's agent has come back (it may
/// never come back): what it knows comes from the store (<see cref="ClusterMemory"/>), the rest is assumed
/// on the safe side.
/// </summary>
public sealed class ClusterObserverTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan SilentAfter = TimeSpan.FromSeconds(1.5);

    [Fact]
    public void Observe_PrimaryWithoutRecord_IsSilentSinceStartUp_WithTheStartUpAsItsLastLease()
    {
        var memory = Restarted("node0");
        var observation = ClusterObserver.Observe("pg", [Replica("node1", streamingPort: 0), Replica("node2", streamingPort: 0)], memory, "local", Start.AddSeconds(1), SilentAfter);

        Assert.Equal("local", observation.Region);
        Assert.False(observation.Primary.PostgresUp);
        Assert.Equal(Start, observation.Primary.UnhealthySince);
        Assert.Equal(Start, observation.Primary.LastLeaseGrantedAt);
        Assert.False(observation.Primary.ConfirmedDownAndFenced);
        Assert.Equal(["node1", "node2"], observation.Replicas.Select(r => r.Node));
    }

    [Fact]
    public void Observe_PrimaryWithoutRecord_AnyStreamingReceiverCountsAsStreamingFromIt()
    {
        // The old primary's port is unknown without its hello: streaming from anywhere is taken as alive.
        var observation = ClusterObserver.Observe("pg", [Replica("node1", streamingPort: 5999), Replica("node2", streamingPort: null)], Restarted("node0"), "local", Start, SilentAfter);

        Assert.True(observation.Replicas.Single(r => r.Node == "node1").StreamingFromPrimary);
        Assert.False(observation.Replicas.Single(r => r.Node == "node2").StreamingFromPrimary);
    }

    [Theory]
    [InlineData(2.9, FailoverAction.Wait)] // failover timeout (3 s) not yet run since start-up
    [InlineData(3.1, FailoverAction.Promote)] // timeout run; lease assumed granted at start-up: 2 s + 1 s margin also run
    public void RestartedAggregator_OldPrimaryNeverReturns_PromotesOnlyAfterTimeoutAndAssumedLease(double secondsSinceStart, FailoverAction expected)
    {
        var observation = ClusterObserver.Observe("pg", [Replica("node1", streamingPort: null), Replica("node2", streamingPort: null)], Restarted("node0"), "local",
            Start.AddSeconds(secondsSinceStart), SilentAfter);

        var verdict = FailoverPolicy.Evaluate(observation, new FailoverOptions());

        Assert.Equal(expected, verdict.Action);
    }

    [Fact]
    public void RestartedAggregator_LongerLease_WaitsForIt()
    {
        var options = new FailoverOptions { LeaseDuration = TimeSpan.FromSeconds(10) };
        var observation = ClusterObserver.Observe("pg", [Replica("node1", streamingPort: null), Replica("node2", streamingPort: null)], Restarted("node0"), "local", Start.AddSeconds(5), SilentAfter);

        var verdict = FailoverPolicy.Evaluate(observation, options);

        Assert.Equal(FailoverAction.Wait, verdict.Action);
        Assert.Contains(verdict.Reasons, r => r.StartsWith("the lease granted 5.0 s ago may still be held", StringComparison.Ordinal));
    }

    [Fact]
    public void Observe_CarriesThePendingPromotion()
    {
        var memory = Restarted("node0") with { PendingCandidate = "node2", PendingEpoch = 7 };
        var observation = ClusterObserver.Observe("pg", [Replica("node1", streamingPort: null), Replica("node2", streamingPort: null)], memory, "local", Start.AddSeconds(10), SilentAfter);

        var verdict = FailoverPolicy.Evaluate(observation, new FailoverOptions());

        Assert.Equal(("node2", 7UL), (observation.PendingCandidate, observation.PendingEpoch));
        Assert.Equal("node2", verdict.Candidate);
    }

    public static TheoryData<string, double> PrimaryStates() => new()
    {
        { "reporting up", 0.5 }, { "reporting up", 1.4 }, { "reporting up", 1.6 }, { "reporting up", 30 },
        { "reporting down", 0.5 }, { "reporting down", 10 }, { "down and fenced", 0.5 }, { "unresponsive", 0.5 },
        { "disconnected", 0.5 }, { "no record", 0.5 }, { "no record", 10 },
    };

    [Theory]
    [MemberData(nameof(PrimaryStates))]
    public void ObservePrimary_IsObservesPrimary_AndNeedsEvaluationExactlyWhenTheVerdictIsNotNone(string state, double secondsAfterReport)
    {
        // The controller's fast path (docs/failover.md, "Detection") must never change a verdict.
        var memory = Restarted("node0") with { LastGrantAt = Start.AddSeconds(59) };
        var records = new List<NodeRecord> { Replica("node1", streamingPort: 6000), Replica("node2", streamingPort: null) };
        if (state != "no record")
        {
            records.Insert(0, Primary(state));
        }

        var now = Start.AddSeconds(60 + secondsAfterReport);
        var full = ClusterObserver.Observe("pg", records, memory, "local", now, SilentAfter);
        var primary = ClusterObserver.ObservePrimary(records, memory, now, SilentAfter);
        var verdict = FailoverPolicy.Evaluate(full, new FailoverOptions());

        Assert.Equal(full.Primary, primary);
        Assert.Equal(verdict.Action != FailoverAction.None, FailoverPolicy.NeedsEvaluation(primary));
        Assert.Equal(state == "reporting up" && secondsAfterReport <= SilentAfter.TotalSeconds, !FailoverPolicy.NeedsEvaluation(primary));
    }

    private static NodeRecord Primary(string state) => new()
    {
        Key = new NodeKey("pg", "node0"),
        Hello = new AgentHello { Identity = new NodeIdentity { Name = "node0", Cluster = "pg", Region = "local" }, Role = NodeRole.Primary, AdvertisePort = 6000 },
        SessionId = 1,
        Peer = "127.0.0.1",
        ConnectedAt = Start.AddSeconds(-1),
        LastReportAt = Start.AddSeconds(60),
        Connected = state != "disconnected",
        Fenced = state == "down and fenced",
        Snapshot = new NodeSnapshot
        {
            PostgresState = state switch
            {
                "reporting down" or "down and fenced" => PostgresState.Down,
                "unresponsive" => PostgresState.Unresponsive,
                _ => PostgresState.Up,
            },
            Role = NodeRole.Primary,
            Primary = new NodeSnapshot.Types.Primary { FlushLsn = 0x2000 },
        },
    };

    private static ClusterMemory Restarted(string primary) => new() { Primary = primary, Since = Start, LastGrantAt = Start };

    private static NodeRecord Replica(string name, uint? streamingPort) => new()
    {
        Key = new NodeKey("pg", name),
        Hello = new AgentHello { Identity = new NodeIdentity { Name = name, Cluster = "pg", Region = "local" }, Role = NodeRole.Replica, AdvertisePort = 6000 },
        SessionId = 1,
        Peer = "127.0.0.1",
        ConnectedAt = Start.AddSeconds(-1),
        LastReportAt = Start.AddSeconds(60),
        Snapshot = new NodeSnapshot
        {
            PostgresState = PostgresState.Up,
            Role = NodeRole.Replica,
            Replica = new NodeSnapshot.Types.Replica
            {
                ReceiveLsn = 0x1000,
                ReplayLsn = 0x1000,
                WalReceiver = streamingPort is { } port ? new NodeSnapshot.Types.WalReceiver { Status = "streaming", SenderPort = port } : null,
            },
        },
    };
}
