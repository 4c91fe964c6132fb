using Fleet.Aggregator.Failover;

namespace Fleet.Aggregator.Tests.Failover;

public sealed class FailoverPolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly FailoverOptions Defaults = new();

    [Fact]
    public void Evaluate_HealthyPrimary_DoesNothing()
    {
        var verdict = FailoverPolicy.Evaluate(Cluster(primary: Healthy()), Defaults);

        Assert.Equal(FailoverAction.None, verdict.Action);
        Assert.Empty(verdict.Reasons);
    }

    [Fact]
    public void Evaluate_PrimaryCutOffFromAggregatorOnly_RefusesBecauseReplicasStillStream()
    {
        // The partition separates only the aggregator from a healthy primary: the replicas still stream.
        var cluster = Cluster(primary: Silent(since: T0.AddSeconds(-60)), replicas: [Replica("node1", streaming: true), Replica("node2", streaming: true)]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Refuse, verdict.Action);
        Assert.Null(verdict.Candidate);
        Assert.Contains("replicas still stream from the primary (node1, node2): 0 of 2 reachable replicas lost it, a majority is 2", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_OnlyOneOfThreeReplicasLostPrimary_Refuses()
    {
        var cluster = Cluster(primary: Silent(since: T0.AddSeconds(-60)),
            replicas: [Replica("node1", streaming: false), Replica("node2", streaming: true), Replica("node3", streaming: true)]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Refuse, verdict.Action);
        Assert.Contains(verdict.Reasons, r => r.StartsWith("replicas still stream from the primary", StringComparison.Ordinal));
    }

    [Fact]
    public void Evaluate_BeforeFailoverTimeout_Waits()
    {
        var cluster = Cluster(primary: Silent(since: T0.AddSeconds(-2.9)), replicas: [Replica("node1"), Replica("node2")]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Wait, verdict.Action);
        Assert.Contains("waiting for the failover timeout (3.0 s)", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_LeaseMayStillBeHeld_Waits()
    {
        // Silent for 3.5 s, but a lease was granted 2.5 s ago: 2 s lease + 1 s margin ends 0.5 s from now.
        var primary = Silent(since: T0.AddSeconds(-3.5)) with { LastLeaseGrantedAt = T0.AddSeconds(-2.5) };
        var verdict = FailoverPolicy.Evaluate(Cluster(primary, [Replica("node1"), Replica("node2")]), Defaults);

        Assert.Equal(FailoverAction.Wait, verdict.Action);
        Assert.Contains("the lease granted 2.5 s ago may still be held until 0.5 s from now", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_LeaseExpiredAndReplicasLostPrimary_PromotesMostAdvanced()
    {
        var primary = Silent(since: T0.AddSeconds(-4)) with { LastLeaseGrantedAt = T0.AddSeconds(-3.1), LastKnownLsn = 0x3000100 };
        var cluster = Cluster(primary, [Replica("node1", receive: 0x3000000), Replica("node2", receive: 0x3000080)]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Promote, verdict.Action);
        Assert.Equal("node2", verdict.Candidate);
        Assert.Equal(["node2", "node1"], verdict.Candidates.Select(c => c.Node));
        Assert.Contains("the old primary's lease has surely expired", verdict.Reasons);
        Assert.Contains("promote node2: received 0/03000080, replayed 0/03000080, 128 bytes behind the last known primary position", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_OldPrimaryConfirmedFenced_SkipsLeaseWait()
    {
        var primary = Down(since: T0.AddSeconds(-3.2)) with { LastLeaseGrantedAt = T0.AddSeconds(-0.2), ConfirmedDownAndFenced = true };

        var verdict = FailoverPolicy.Evaluate(Cluster(primary, [Replica("node1"), Replica("node2")]), Defaults);

        Assert.Equal(FailoverAction.Promote, verdict.Action);
        Assert.Contains("the old primary's agent confirmed it is down and fenced", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_SynchronousStandby_PreferredOverMoreAdvancedAsyncReplica()
    {
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)),
            [Replica("node1", receive: 0x5000, synchronous: true), Replica("node2", receive: 0x9000)]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal("node1", verdict.Candidate);
        Assert.Contains("promote node1: synchronous standby, received 0/00005000, replayed 0/00005000", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_EqualPositions_ReplayThenPriorityThenNameDecide()
    {
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)),
        [
            Replica("node3", receive: 0x9000, replay: 0x8000, priority: 100),
            Replica("node2", receive: 0x9000, replay: 0x9000, priority: 100),
            Replica("node1", receive: 0x9000, replay: 0x9000, priority: 50),
            Replica("node0", receive: 0x9000, replay: 0x9000, priority: 100),
        ]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(["node0", "node2", "node1", "node3"], verdict.Candidates.Select(c => c.Node));
    }

    [Theory]
    [InlineData("other-region", true, true, true, false, 0UL, "in region 'other-region', not the primary's 'kr-central' (cross-region promotion is manual only)")]
    [InlineData("kr-central", false, true, true, false, 0UL, "agent not reachable")]
    [InlineData("kr-central", true, false, true, false, 0UL, "postgres not up")]
    [InlineData("kr-central", true, true, false, false, 0UL, "not in recovery (already a primary?)")]
    [InlineData("kr-central", true, true, true, true, 0UL, "tagged no-failover")]
    [InlineData("kr-central", true, true, true, false, 2_000_000UL, "lags 2000000 bytes > maximum_lag_on_failover 1048576")]
    public void Evaluate_IneligibleCandidate_RecordsWhy(string region, bool reachable, bool up, bool inRecovery, bool noFailover, ulong behind, string reason)
    {
        const ulong primaryLsn = 0x10000000;
        var bad = Replica("node1", receive: primaryLsn - behind) with { Region = region, Reachable = reachable, PostgresUp = up, InRecovery = inRecovery, NoFailover = noFailover };
        var good = Replica("node2", receive: primaryLsn - 2_000_000);
        var primary = Silent(since: T0.AddSeconds(-10)) with { LastKnownLsn = primaryLsn };
        var options = new FailoverOptions { MaximumLagOnFailover = 1024 * 1024 };

        var verdict = FailoverPolicy.Evaluate(Cluster(primary, [bad, good, Replica("node3", receive: primaryLsn)]), options);

        var evaluation = Assert.Single(verdict.Candidates, c => c.Node == "node1");
        Assert.False(evaluation.Eligible);
        Assert.Contains(reason, evaluation.RejectedBecause);
    }

    [Fact]
    public void Evaluate_NoEligibleCandidate_RefusesWithEveryCandidatesReasons()
    {
        var primary = Silent(since: T0.AddSeconds(-10)) with { LastKnownLsn = 0x10000000 };
        var cluster = Cluster(primary, [Replica("node1", receive: 0x100) with { NoFailover = true }, Replica("node2", receive: 0x100)]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Refuse, verdict.Action);
        Assert.Contains(verdict.Reasons, r => r.StartsWith("no eligible candidate: node2 (lags ", StringComparison.Ordinal) || r.StartsWith("no eligible candidate: node1 (", StringComparison.Ordinal));
        Assert.All(verdict.Candidates, c => Assert.False(c.Eligible));
    }

    [Fact]
    public void Evaluate_NoReachableReplica_Refuses()
    {
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)), [Replica("node1") with { Reachable = false }]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Refuse, verdict.Action);
        Assert.Contains("no replica is reachable: nobody can confirm the primary is gone, and nobody could be promoted", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_Disabled_Refuses()
    {
        var verdict = FailoverPolicy.Evaluate(Cluster(Silent(since: T0.AddSeconds(-10)), [Replica("node1")]), new FailoverOptions { Enabled = false });

        Assert.Equal(FailoverAction.Refuse, verdict.Action);
        Assert.Contains("automatic failover is disabled (Failover:Enabled=false)", verdict.Reasons);
    }

    [Fact]
    public void Evaluate_UnreachableReplicas_DoNotCountTowardsTheMajority()
    {
        // Two of three replicas are unreachable; the only reachable one lost the primary: a majority of the reachable.
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)),
            [Replica("node1"), Replica("node2", streaming: true) with { Reachable = false }, Replica("node3", streaming: true) with { Reachable = false }]);

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Promote, verdict.Action);
        Assert.Equal("node1", verdict.Candidate);
    }

    [Fact]
    public void Evaluate_IsDeterministic()
    {
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)), [Replica("b", receive: 5), Replica("a", receive: 5), Replica("c", receive: 5)]);

        var first = FailoverPolicy.Evaluate(cluster, Defaults);
        var second = FailoverPolicy.Evaluate(cluster with { Replicas = [.. cluster.Replicas.Reverse()] }, Defaults);

        Assert.Equal(first.Candidate, second.Candidate);
        Assert.Equal(first.Reasons, second.Reasons);
    }

    [Fact]
    public void Evaluate_PendingPromotion_PinsTheChoiceToItsCandidate_EvenWhenAnotherRanksHigher()
    {
        // node2 received more WAL, but node1 was sent Promote under epoch 4 and never confirmed it.
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)), [Replica("node1", receive: 0x1000), Replica("node2", receive: 0x9000)])
            with { PendingCandidate = "node1", PendingEpoch = 4 };

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Promote, verdict.Action);
        Assert.Equal("node1", verdict.Candidate);
    }

    [Fact]
    public void Evaluate_PendingCandidateUnreachable_RefusesAnyOtherPromotion()
    {
        var lost = Replica("node1") with { Reachable = false };
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)), [lost, Replica("node2"), Replica("node3")]) with { PendingCandidate = "node1", PendingEpoch = 4 };

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Refuse, verdict.Action);
        Assert.Null(verdict.Candidate);
        Assert.Equal(
            "the promotion of node1 under epoch 4 was never confirmed and it may be a primary already: only it may be promoted, and it cannot be now (agent not reachable); " +
            "an operator can abandon that promotion with FleetService.Failover",
            verdict.Reasons[^1]);
    }

    [Fact]
    public void Evaluate_PendingCandidateNotReporting_RefusesAnyOtherPromotion()
    {
        var cluster = Cluster(Silent(since: T0.AddSeconds(-10)), [Replica("node2"), Replica("node3")]) with { PendingCandidate = "node1", PendingEpoch = 2 };

        var verdict = FailoverPolicy.Evaluate(cluster, Defaults);

        Assert.Equal(FailoverAction.Refuse, verdict.Action);
        Assert.Contains("(it is not reporting as a replica)", verdict.Reasons[^1], StringComparison.Ordinal);
    }

    private static ClusterObservation Cluster(PrimaryObservation primary, IReadOnlyList<ReplicaObservation>? replicas = null) => new()
    {
        Cluster = "pg-main",
        Region = "kr-central",
        Now = T0,
        Primary = primary,
        Replicas = replicas ?? [Replica("node1", streaming: true), Replica("node2", streaming: true)],
    };

    private static PrimaryObservation Healthy() => new() { Node = "node0", LastHeardAt = T0, PostgresUp = true };

    private static PrimaryObservation Silent(DateTimeOffset since) => new() { Node = "node0", LastHeardAt = since, PostgresUp = true, UnhealthySince = since };

    private static PrimaryObservation Down(DateTimeOffset since) => new() { Node = "node0", LastHeardAt = T0, PostgresUp = false, UnhealthySince = since };

    private static ReplicaObservation Replica(string name, bool streaming = false, ulong receive = 0x1000, ulong? replay = null, bool synchronous = false, int priority = 100) => new()
    {
        Node = name,
        Region = "kr-central",
        Reachable = true,
        PostgresUp = true,
        InRecovery = true,
        StreamingFromPrimary = streaming,
        ReceiveLsn = receive,
        ReplayLsn = replay ?? receive,
        Synchronous = synchronous,
        CandidatePriority = priority,
    };
}
