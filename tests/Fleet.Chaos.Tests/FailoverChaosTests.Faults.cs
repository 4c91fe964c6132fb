using System.Diagnostics;
using Fleet.Aggregator.Failover;
using Fleet.Protos.V1;

namespace Fleet.Chaos.Tests;

// Network partitions, a returning old primary and an aggregator restart, injected through LocalFleet's hooks
// and the fault proxy (Fleet.Chaos.Faults.TcpFaultProxy).
public sealed partial class FailoverChaosTests
{
    [Fact]
    public async Task PrimaryAgentPartitionedFromAggregator_ReplicasStillStream_NoFailover_PrimaryKeepsWriting_ThenHeals()
    {
        await using var scenario = await WritingScenario.StartAsync(new ChaosFleetOptions { ProxiedAgent = 0 }, Output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        var proxy = chaos.Proxy!;
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        // Only node0's agent loses the aggregator: Postgres, its replication and the agent process are untouched.
        var defaults = new FailoverOptions();
        var hold = defaults.FailoverTimeout + defaults.LeaseDuration + defaults.DriftMargin + TimeSpan.FromSeconds(2);
        var partitionedAt = writer.Now;
        proxy.Partition();
        AgentPresence? worstPresence = null;
        while (writer.Now < partitionedAt + hold)
        {
            var cluster = await chaos.GetClusterAsync();
            Assert.Equal(0UL, cluster.Summary.Epoch);
            Assert.Equal("node0", cluster.Summary.Primary);
            Assert.DoesNotContain(cluster.Nodes, n => n.Identity.Name != "node0" && n.Role == NodeRole.Primary);
            var presence = cluster.Nodes.Single(n => n.Identity.Name == "node0").Presence;
            worstPresence = presence == AgentPresence.Connected ? worstPresence ?? presence : presence;
            await Task.Delay(250);
        }

        var healedAt = writer.Now;
        var healedWall = DateTimeOffset.UtcNow;
        var during = writer.Acknowledgements.Where(a => a.At >= partitionedAt && a.At <= healedAt).ToList();
        var gaps = during.Select(a => a.At).Prepend(partitionedAt).Append(healedAt).Order().ToList();
        var (gapStart, longestGap) = gaps.Zip(gaps.Skip(1), (a, b) => (a, b - a)).MaxBy(g => g.Item2);
        Output.WriteLine($"partition held {hold.TotalSeconds:F0} s: node0 acknowledged {during.Count} writes meanwhile, longest gap {longestGap.TotalMilliseconds:F0} ms " +
                         $"(from {(gapStart - partitionedAt).TotalMilliseconds:F0} ms into the partition); node0's agent seen as {worstPresence}");
        Assert.NotEqual(AgentPresence.Connected, worstPresence); // the partition did cut the agent off
        Assert.True(longestGap < TimeSpan.FromSeconds(2), $"node0 stopped acknowledging writes for {longestGap.TotalMilliseconds:F0} ms during the partition (self-fenced?)");
        Assert.All(writer.Acknowledgements, a => Assert.Equal("node0", a.Node));
        Assert.True(await PostgresProbe.IsWritableAsync(postgres.Primary.ConnectionString), "node0 must still be a writable primary");
        var events = await chaos.EventsAsync();
        Assert.Contains(events, e => e.Kind == EventKind.FailoverDecision && e.Message.StartsWith("no failover: replicas still stream from the primary", StringComparison.Ordinal));
        Assert.DoesNotContain(events, e => e.Kind == EventKind.FailoverDecision && e.Message.Contains("under epoch", StringComparison.Ordinal));

        proxy.Heal();
        var healed = await chaos.WaitUntilAsync(
            c => c.Nodes.Single(n => n.Identity.Name == "node0") is { Presence: AgentPresence.Connected } node0 && node0.LastReportAt.ToDateTimeOffset() > healedWall,
            "node0's agent reports again after the heal", TimeSpan.FromSeconds(30));
        var reportedAfter = healed.Nodes.Single(n => n.Identity.Name == "node0").LastReportAt.ToDateTimeOffset() - healedWall;
        var acknowledgedBefore = writer.Acknowledgements.Count;
        await writer.WaitForAcknowledgementsAsync("node0", acknowledgedBefore + 20);
        await writer.StopAsync();

        Output.WriteLine($"healed: node0's agent reported again {reportedAfter.TotalMilliseconds:F0} ms after the heal; proxy accepted {proxy.AcceptedConnections} connection(s) in all");
        Assert.Equal("node0", healed.Summary.Primary);
        Assert.Equal(0UL, healed.Summary.Epoch);
        Assert.False(healed.Nodes.Single(n => n.Identity.Name == "node0").Fenced);
        Assert.All(writer.Acknowledgements, a => Assert.Equal("node0", a.Node));
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        Assert.DoesNotContain(await chaos.EventsAsync(), IsPromotion);
    }

    [Fact]
    public async Task OldPrimaryReturnsAfterWholeNodeLoss_NeverAcceptsAWriteAgain_RejoinsAsStreamingReplica()
    {
        // EveryNode: every round offers a write to every node, so the old primary is caught if it accepts one.
        // Synchronous mode, as docs/failover.md requires for "never": a returning old primary whose Postgres is
        // started before its agent (as here) runs as a primary for a moment; with synchronous_standby_names no
        // standby confirms its commits, so none is acknowledged. In async mode that moment is a known window.
        await using var scenario = await WritingScenario.StartAsync(new ChaosFleetOptions { Synchronous = true }, Output.WriteLine, WriteTargeting.EveryNode);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        var lostAt = writer.Now;
        var stopAgent = chaos.Fleet.Agents[0].StopAsync();
        postgres.Primary.KillPostmaster();
        await stopAgent.WaitAsync(TimeSpan.FromSeconds(15));
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        var newPrimary = postgres.Nodes.Single(n => n.Name == first.Node);
        var other = first.Node == "node1" ? "node2" : "node1";
        await chaos.WaitUntilAsync(c => c.Summary.Primary == first.Node && c.Topology.Any(e => e.Node == other && e.Upstream == first.Node && e.Streaming),
            $"{first.Node} published and {other} streaming from it", TimeSpan.FromSeconds(20));
        Output.WriteLine($"failed over to {first.Node} {(first.At - lostAt).TotalMilliseconds:F0} ms after losing node0");

        // node0 comes back as after a reboot: its Postgres starts first (as a primary: it has no standby.signal), then its agent.
        var returnedAt = writer.Now;
        await postgres.Primary.StartAsync();
        var postgresUpAt = writer.Now;
        await chaos.Fleet.StartAgentAsync(0);
        var agentUpAt = writer.Now;

        PostgresProbe.Recovery? state = null;
        var deadline = writer.Now + TimeSpan.FromSeconds(60);
        while (writer.Now < deadline)
        {
            state = await PostgresProbe.TryRecoveryAsync(postgres.Primary.ConnectionString, "node0", newPrimary.ConnectionString);
            if (state is not null && state.StreamsFrom(newPrimary.Port))
            {
                break;
            }

            await Task.Delay(100);
        }

        var rejoinedAt = writer.Now;
        var acknowledgedBefore = writer.Acknowledgements.Count(a => a.Node == first.Node);
        await writer.WaitForAcknowledgementsAsync(first.Node, acknowledgedBefore + 20);
        await writer.StopAsync();

        var acknowledged = writer.Acknowledgements;
        var lateOnNode0 = acknowledged.Where(a => a.Node == "node0" && a.At > first.At).ToList();
        Output.WriteLine($"node0: Postgres started in {(postgresUpAt - returnedAt).TotalMilliseconds:F0} ms, agent {(agentUpAt - postgresUpAt).TotalMilliseconds:F0} ms later; " +
                         $"streaming replica of {first.Node} {(rejoinedAt - returnedAt).TotalMilliseconds:F0} ms after its return (last state: {state?.ToString() ?? "not accepting connections"})");
        Output.WriteLine($"node0 acknowledged {lateOnNode0.Count} writes after {first.Node} took over" +
                         (lateOnNode0.Count == 0 ? string.Empty : $", from {(lateOnNode0[0].At - returnedAt).TotalMilliseconds:F0} to {(lateOnNode0[^1].At - returnedAt).TotalMilliseconds:F0} ms after its return"));
        foreach (var e in (await chaos.EventsAsync()).Where(e => e.Node == "node0" || e.Kind == EventKind.FailoverDecision).Take(10))
        {
            Output.WriteLine($"event {e.Kind} {e.Node}: {e.Message}");
        }

        if (state is null || !state.StreamsFrom(newPrimary.Port))
        {
            // The agent's Rejoin starts Postgres with its own log file (PostgresActions.StartAsync).
            Output.WriteLine($"--- node0 postgres.log ---{Environment.NewLine}{postgres.Primary.ReadLogTail(25)}");
            var agentStartLog = Path.Combine(postgres.Primary.DataDirectory, "fleet-agent-start.log");
            if (File.Exists(agentStartLog))
            {
                Output.WriteLine($"--- node0 fleet-agent-start.log ---{Environment.NewLine}{string.Join(Environment.NewLine, File.ReadLines(agentStartLog).TakeLast(40))}");
            }

            Output.WriteLine($"--- {first.Node} postgres.log ---{Environment.NewLine}{newPrimary.ReadLogTail(25)}");
        }

        // Both checks are reported together: they fail for different reasons.
        var problems = new List<string>();
        if (lateOnNode0.Count > 0)
        {
            problems.Add($"node0 acknowledged {lateOnNode0.Count} writes after {first.Node} had taken over (seq {string.Join(", ", lateOnNode0.Take(5).Select(a => a.Seq))}), " +
                         $"from {(lateOnNode0[0].At - returnedAt).TotalMilliseconds:F0} ms after its Postgres was started again");
        }

        if (WriteHistory.FindSplitBrain(acknowledged) is { } splitBrain)
        {
            problems.Add("split brain: " + splitBrain);
        }

        if (state is null || !state.StreamsFrom(newPrimary.Port))
        {
            problems.Add($"node0 is not a streaming replica of {first.Node} (port {newPrimary.Port}) within 60 s: {state?.ToString() ?? "not accepting connections"}");
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == first.Node && c.Topology.Any(e => e.Node == "node0" && e.Upstream == first.Node && e.Streaming),
            $"Fleet shows node0 streaming from {first.Node}", TimeSpan.FromSeconds(20));
        Assert.Equal(1UL, cluster.Summary.Epoch);
        var missing = await WriteHistory.MissingOnAsync(newPrimary.ConnectionString, acknowledged.Where(a => a.Node == first.Node).ToList());
        Assert.Empty(missing);
    }

    [Fact]
    public async Task AggregatorRestartedDuringFailover_SynchronousMode_ReplicaBecomesWritable_NoLoss_NoSplitBrain()
    {
        await using var scenario = await WritingScenario.StartAsync(synchronous: true, Output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        var killedAt = writer.Now;
        postgres.Primary.KillPostmaster();
        // The epoch goes to 1 durably, then the decision event is recorded, then fence/promote/follow go out.
        var decided = await chaos.WaitUntilAsync(c => c.Summary.Epoch >= 1, "the aggregator advanced the epoch (failover decided)", TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(10));
        var decidedAt = writer.Now;
        var restart = Stopwatch.StartNew();
        await chaos.Fleet.RestartAggregatorAsync();
        restart.Stop();
        var restartedAt = writer.Now;
        var writableBeforeRestart = writer.Acknowledgements.FirstOrDefault(a => a.Node != "node0" && a.At <= decidedAt);
        Output.WriteLine($"failover decided {(decidedAt - killedAt).TotalMilliseconds:F0} ms after the kill (published primary then '{decided.Summary.Primary}', " +
                         $"last decision {decided.LastDecision?.Outcome}); aggregator restarted in {restart.ElapsedMilliseconds} ms; " +
                         $"a replica was writable before the restart: {writableBeforeRestart is not null}");

        Acknowledged first;
        try
        {
            first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            var stuck = await chaos.TryGetClusterAsync();
            foreach (var e in (await chaos.EventsAsync()).Take(15))
            {
                Output.WriteLine($"event {e.Kind} {e.Node}: {e.Message}");
            }

            Assert.Fail($"no replica became writable within 30 s of the aggregator restart; published primary '{stuck?.Summary.Primary}', epoch {stuck?.Summary.Epoch}, " +
                        $"nodes {string.Join(", ", stuck?.Nodes.Select(n => $"{n.Identity.Name}={n.Role}/{n.PostgresState}") ?? [])}");
            throw;
        }

        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        await writer.StopAsync();
        Output.WriteLine($"writable again on {first.Node} {(first.At - killedAt).TotalMilliseconds:F0} ms after the kill, {(first.At - restartedAt).TotalMilliseconds:F0} ms after the restart");

        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        await AssertNoAcknowledgedWriteMissingAsync(scenario, first.Node);
        foreach (var replica in postgres.Replicas.Where(r => r.Name != first.Node))
        {
            Assert.False(await PostgresProbe.IsWritableAsync(replica.ConnectionString), $"{replica.Name} must not be writable next to {first.Node}");
        }

        var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == first.Node, $"the restarted aggregator publishes {first.Node}, the node that accepts writes, as primary", TimeSpan.FromSeconds(20));
        Assert.True(cluster.Summary.Epoch >= 1, $"epoch {cluster.Summary.Epoch} after a failover");
        foreach (var e in (await chaos.EventsAsync()).Take(8))
        {
            Output.WriteLine($"event {e.Kind} {e.Node}: {e.Message}");
        }
    }
}
