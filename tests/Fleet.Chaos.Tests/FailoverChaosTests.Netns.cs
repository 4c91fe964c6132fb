using Fleet.Aggregator.Failover;
using Fleet.Chaos.Netns;
using Fleet.Protos.V1;

namespace Fleet.Chaos.Tests;

// Every node on its own address, in its own network namespace, its agent a separate process: partitions are
// iptables rules inside a namespace (nothing is reset, packets vanish), freezes are SIGSTOP of real processes.
public sealed partial class FailoverChaosTests
{
    [Trait(Fleet.Testing.AgentExecutable.TraitName, Fleet.Testing.AgentExecutable.TraitValue)]
    [Fact]
    public async Task Netns_PrimaryNodeIsolated_SynchronousMode_FailsOver_OldPrimarySelfFences_RejoinsAcrossAddresses()
    {
        await using var fleet = await NamespaceFleet.StartAsync(synchronous: true, Output.WriteLine);
        await using var writer = await StartWriterAsync(fleet);
        await using var observer = StartObserver(fleet);
        await writer.WaitForAcknowledgementsAsync("node0", 20);
        await observer.WaitForAcknowledgementsAsync("node0", 5);

        var cutAt = writer.Now;
        fleet.Lab.Isolate(0);
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        var writableAfter = first.At - cutAt;

        // Cut off, node0's agent still sees its server: lease expired, standbys gone (wal_sender_timeout) → fence.
        var defaults = new FailoverOptions();
        var fenceDeadline = DateTime.UtcNow + defaults.LeaseDuration + defaults.ReplicationTimeout + TimeSpan.FromSeconds(5);
        while (fleet.Postgres.Primary.IsRunning && DateTime.UtcNow < fenceDeadline)
        {
            await Task.Delay(100);
        }

        var selfFenced = !fleet.Postgres.Primary.IsRunning;
        Output.WriteLine($"node0 isolated: writable again on {first.Node} after {writableAfter.TotalMilliseconds:F0} ms; node0 self-fenced: {selfFenced}");
        Assert.Equal("node1", first.Node);
        Assert.True(selfFenced, "node0's agent did not stop its isolated primary");
        Assert.True(writableAfter < TimeSpan.FromSeconds(10), $"writable again only {writableAfter.TotalSeconds:F1} s after the cut");

        fleet.Lab.Heal(0);
        await fleet.WaitUntilAsync(c => c.Summary.Primary == "node1" && c.Topology.Any(e => e.Node == "node0" && e.Upstream == "node1" && e.Streaming),
            "node0 rejoined as a replica of node1 (pg_rewind from node1's address)", TimeSpan.FromSeconds(60));
        await writer.StopAsync();
        await observer.StopAsync();
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        AssertObserverSawOneWritableNodeAtATime(observer);
        var missing = await WriteHistory.MissingOnAsync(fleet.ConnectionString(1), writer.Acknowledgements);
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes missing on node1");
    }

    [Fact]
    public async Task Netns_WholePrimaryNodeFrozen_SynchronousMode_FailsOver_ResumedOldPrimaryAcknowledgesNothing_Rejoins()
    {
        await using var fleet = await NamespaceFleet.StartAsync(synchronous: true, Output.WriteLine);
        await using var writer = await StartWriterAsync(fleet);
        await using var observer = StartObserver(fleet);
        await writer.WaitForAcknowledgementsAsync("node0", 20);
        await observer.WaitForAcknowledgementsAsync("node0", 5);

        // A paused VM: PostgreSQL and its agent stop together; sockets stay open, nothing is sent.
        var frozenAt = writer.Now;
        fleet.SignalAgent(0, "STOP");
        fleet.Postgres.Primary.Freeze();
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        var writableAfter = first.At - frozenAt;

        // Resume the whole node: its agent finds its lease long expired and its standbys gone, and fences;
        // the aggregator rejoins it. Meanwhile the writer keeps offering writes to node0 too.
        var resumedAt = writer.Now;
        fleet.Postgres.Primary.Thaw();
        fleet.SignalAgent(0, "CONT");
        await fleet.WaitUntilAsync(c => c.Topology.Any(e => e.Node == "node0" && e.Upstream == "node1" && e.Streaming),
            "node0 rejoined as a replica of node1", TimeSpan.FromSeconds(60));
        await writer.StopAsync();
        await observer.StopAsync();

        // A write offered to node0 after node1 took over must never be acknowledged by node0. One offered before
        // the freeze may be answered only after the thaw: its commit was released by the synchronous standby's
        // reply before the walsender or the backend was stopped (SIGSTOP reaches the processes one by one), so it
        // is on that standby, and the missing-on-node1 check below proves it was not lost.
        var acknowledgedByOldPrimary = writer.Acknowledgements.Count(a => a.Node == "node0" && a.StartedAt > first.At);
        var answeredLate = writer.Acknowledgements.Count(a => a.Node == "node0" && a.At > first.At && a.StartedAt <= first.At);
        Output.WriteLine($"node0 frozen: writable again on {first.Node} after {writableAfter.TotalMilliseconds:F0} ms; " +
                         $"after resuming ({(writer.Now - resumedAt).TotalSeconds:F1} s ago) node0 acknowledged {acknowledgedByOldPrimary} writes offered after the take-over " +
                         $"({answeredLate} offered before the freeze were answered after the thaw)");
        Assert.Equal("node1", first.Node);
        Assert.True(writableAfter < TimeSpan.FromSeconds(10), $"writable again only {writableAfter.TotalSeconds:F1} s after the freeze");
        Assert.Equal(0, acknowledgedByOldPrimary); // synchronous: its standbys left, nothing can be acknowledged
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        AssertObserverSawOneWritableNodeAtATime(observer);
        var missing = await WriteHistory.MissingOnAsync(fleet.ConnectionString(1), writer.Acknowledgements);
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes missing on node1");
    }

    [Fact]
    public async Task Netns_ReplicaCutFromPrimaryOnly_ThenAggregatorCutFromPrimaryOnly_ThenPrimaryAgentFrozen_NoFailover()
    {
        await using var fleet = await NamespaceFleet.StartAsync(synchronous: false, Output.WriteLine);
        await using var writer = await StartWriterAsync(fleet);
        await writer.WaitForAcknowledgementsAsync("node0", 20);
        var defaults = new FailoverOptions();
        var hold = defaults.FailoverTimeout + defaults.LeaseDuration + defaults.DriftMargin + TimeSpan.FromSeconds(2);

        fleet.Lab.CutBetween(2, 0);
        await AssertNoFailoverForAsync(fleet, writer, hold, "node2 cut from node0");
        fleet.Lab.Heal(2);
        // One fault at a time: a primary cut from the aggregator while a replica is still away fences itself
        // (it cannot know which replicas the aggregator still hears; docs/failover.md, "Two faults at once").
        await WaitUntilSteadyAsync(fleet);

        fleet.Lab.CutFromAggregator(0);
        var presence = await AssertNoFailoverForAsync(fleet, writer, hold, "node0 cut from the aggregator");
        fleet.Lab.Heal(0);
        await WaitUntilSteadyAsync(fleet);

        // The agent alone frozen: PostgreSQL and replication are fine, so nothing may happen to them.
        fleet.SignalAgent(0, "STOP");
        await AssertNoFailoverForAsync(fleet, writer, hold, "node0's agent frozen");
        fleet.SignalAgent(0, "CONT");

        var before = writer.Acknowledgements.Count;
        await writer.WaitForAcknowledgementsAsync("node0", before + 20);
        await writer.StopAsync();
        Assert.NotEqual(AgentPresence.Connected, presence); // the cut did reach the agent's link
        Assert.All(writer.Acknowledgements, a => Assert.Equal("node0", a.Node));
        Assert.True(fleet.Postgres.Primary.IsRunning, "node0 must not have fenced itself");
        Assert.DoesNotContain(await fleet.EventsAsync(), IsPromotion);
    }

    [Fact]
    public async Task Netns_PrimaryNodeIsolated_AsynchronousMode_LossIsCounted_OnlyWritesTheOldPrimaryTookAfterTheCut_BoundedByItsSelfFence()
    {
        await using var fleet = await NamespaceFleet.StartAsync(synchronous: false, Output.WriteLine);
        await using var writer = await StartWriterAsync(fleet);
        await using var observer = StartObserver(fleet);
        await writer.WaitForAcknowledgementsAsync("node0", 20);
        await observer.WaitForAcknowledgementsAsync("node0", 5);

        var cutOnObserverClock = observer.Now;
        fleet.Lab.Isolate(0);
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        fleet.Lab.Heal(0);
        await fleet.WaitUntilAsync(c => c.Topology.Any(e => e.Node == "node0" && e.Upstream == first.Node && e.Streaming),
            $"node0 rejoined as a replica of {first.Node}", TimeSpan.FromSeconds(60));
        await writer.StopAsync();
        await observer.StopAsync();

        // Asynchronous replication: what node0 acknowledged beside itself (the observer, inside its partition) after
        // the cut never reached the new primary, and pg_rewind discarded it. That is the loss, and it must end when
        // node0 fenced itself: its lease (2 s) and its replicas' silence (2 s) plus a collection and the stop.
        var acknowledged = writer.Acknowledgements.Concat(observer.Acknowledgements).ToList();
        var missing = (await WriteHistory.MissingOnAsync(fleet.ConnectionString(int.Parse(first.Node[4..], System.Globalization.CultureInfo.InvariantCulture)), acknowledged)).ToHashSet();
        var lost = observer.Acknowledgements.Where(a => missing.Contains(a.Seq)).ToList();
        var defaults = new FailoverOptions();
        var bound = defaults.LeaseDuration + defaults.ReplicationTimeout + TimeSpan.FromSeconds(2);
        var lastLost = lost.Count == 0 ? TimeSpan.Zero : lost.Max(a => a.At) - cutOnObserverClock;
        Output.WriteLine($"async isolate: {lost.Count} writes acknowledged by node0 after the cut were lost, the last {lastLost.TotalMilliseconds:F0} ms after it (bound {bound.TotalSeconds:F0} s); " +
                         $"{writer.Acknowledgements.Count} + {observer.Acknowledgements.Count} acknowledged in all");
        Assert.Equal(missing.Count, lost.Count); // nothing else is missing: not a write of the TCP writer, not one of the new primary's
        Assert.All(lost, a => Assert.Equal("node0", a.Node));
        Assert.All(lost, a => Assert.True(a.StartedAt >= cutOnObserverClock - TimeSpan.FromSeconds(1), $"write {a.Seq} started well before the cut and is lost"));
        Assert.True(lastLost <= bound, $"node0 kept acknowledging writes that were then lost for {lastLost.TotalSeconds:F1} s after the cut");
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
    }

    [Trait(Fleet.Testing.AgentExecutable.TraitName, Fleet.Testing.AgentExecutable.TraitValue)]
    [Fact]
    public async Task Netns_Switchover_AcrossAddresses_EveryNodeFollowsTheNewPrimary_NoLoss_NoSplitBrain()
    {
        await using var fleet = await NamespaceFleet.StartAsync(synchronous: false, Output.WriteLine);
        await using var writer = await StartWriterAsync(fleet);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        var request = new SwitchoverRequest
        {
            Cluster = NamespaceFleet.ClusterName,
            Candidate = "node2",
            Operator = new OperatorContext { Operator = "chaos test", Reason = "planned switchover across addresses" },
        };
        var response = await new FleetService.FleetServiceClient(fleet.Channel)
            .SwitchoverAsync(request, new Grpc.Core.CallOptions(deadline: DateTime.UtcNow + TimeSpan.FromSeconds(60))).ResponseAsync;
        await writer.WaitForAcknowledgementsAsync("node2", 20);

        // node1 follows node2's namespace address; node0 is rewound from it and streams from it.
        await fleet.WaitUntilAsync(
            c => c.Summary.Primary == "node2" && new[] { "node0", "node1" }.All(n => c.Topology.Any(e => e.Node == n && e.Upstream == "node2" && e.Streaming)),
            "node0 and node1 stream from node2", TimeSpan.FromSeconds(60));
        await writer.StopAsync();

        Output.WriteLine($"switchover to node2 across addresses: {response.Decision.Outcome} in {response.Decision.DurationMs} ms");
        Assert.Equal(DecisionOutcome.Completed, response.Decision.Outcome);
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        var missing = await WriteHistory.MissingOnAsync(fleet.ConnectionString(2), writer.Acknowledgements);
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes missing on node2");
    }

    private static Task WaitUntilSteadyAsync(NamespaceFleet fleet) =>
        fleet.WaitUntilAsync(
            c => c.Summary.Primary == "node0" && c.Summary.StreamingReplicaCount == 2 && c.Nodes.All(n => n.Presence == AgentPresence.Connected),
            "node0 primary again with both replicas streaming and every agent reporting", TimeSpan.FromSeconds(30));

    private async Task<AgentPresence> AssertNoFailoverForAsync(NamespaceFleet fleet, AcknowledgedWriter writer, TimeSpan hold, string fault)
    {
        var start = writer.Now;
        var worst = AgentPresence.Connected;
        while (writer.Now < start + hold)
        {
            var cluster = await fleet.GetClusterAsync();
            Assert.Equal(0UL, cluster.Summary.Epoch);
            Assert.Equal("node0", cluster.Summary.Primary);
            var presence = cluster.Nodes.Single(n => n.Identity.Name == "node0").Presence;
            worst = presence != AgentPresence.Connected ? presence : worst;
            await Task.Delay(250);
        }

        var acknowledged = writer.Acknowledgements.Count(a => a.At >= start && a.Node == "node0");
        Output.WriteLine($"{fault} for {hold.TotalSeconds:F0} s: no failover, node0 acknowledged {acknowledged} writes meanwhile");
        Assert.True(acknowledged > 0, $"node0 acknowledged nothing while {fault}");
        return worst;
    }

    /// <summary>
    /// A second writer that reaches every node through its Unix socket, which no network fault cuts: it writes
    /// where a client inside the cut-off node's partition would, every round to every node, so an old primary
    /// still accepting writes beside a new one cannot hide behind the partition.
    /// </summary>
    private static AcknowledgedWriter StartObserver(NamespaceFleet fleet)
    {
        var observer = new AcknowledgedWriter(
            fleet.Postgres.Nodes.Select((n, i) => (n.Name, fleet.LocalConnectionString(i))), WriteTargeting.EveryNode, firstSequence: 1_000_000_000);
        observer.Start();
        return observer;
    }

    private void AssertObserverSawOneWritableNodeAtATime(AcknowledgedWriter observer)
    {
        var byNode = string.Join(", ", observer.Acknowledgements.GroupBy(a => a.Node).Select(g => $"{g.Key} {g.Count()}"));
        Output.WriteLine($"observer (Unix sockets, beside each node): acknowledged {byNode}");
        Assert.Null(WriteHistory.FindSplitBrain(observer.Acknowledgements));
    }

    /// <summary>A writer that offers every write round to every node, so any node accepting writes is caught.</summary>
    private static async Task<AcknowledgedWriter> StartWriterAsync(NamespaceFleet fleet)
    {
        await AcknowledgedWriter.CreateTableAsync(fleet.ConnectionString(0));
        var writer = new AcknowledgedWriter(fleet.Postgres.Nodes.Select((n, i) => (n.Name, fleet.ConnectionString(i))), WriteTargeting.EveryNode);
        writer.Start();
        return writer;
    }
}
