using Fleet.Protos.V1;
using Xunit.Abstractions;

namespace Fleet.Chaos.Tests;

/// <summary>
/// Real Postgres, real agents, the real aggregator, a writer that records every acknowledged row:
/// failures are injected and the outcome is checked, never assumed (docs/failover.md).
/// </summary>
/// <remarks>
/// One class (in several files) so xunit runs the scenarios one after the other: each starts three Postgres
/// servers, three agents and an aggregator on a 2-core machine.
/// </remarks>
public sealed partial class FailoverChaosTests(ITestOutputHelper output)
{
    private ITestOutputHelper Output => output;

    [Fact]
    public async Task PostmasterKill_SynchronousMode_PromotesSyncStandby_LosesNoAcknowledgedWrite_NoSplitBrain()
    {
        await using var scenario = await WritingScenario.StartAsync(synchronous: true, output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        var killedAt = writer.Now;
        postgres.Primary.KillPostmaster();
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        await writer.StopAsync();

        var writableAfter = first.At - killedAt;
        output.WriteLine($"writable again on {first.Node} {writableAfter.TotalMilliseconds:F0} ms after the postmaster kill");
        Assert.Equal("node1", first.Node); // the synchronous standby is preferred
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        await AssertNoAcknowledgedWriteMissingAsync(scenario, first.Node);

        var cluster = await chaos.WaitUntilAsync(c => c.Summary.Primary == "node1" && c.Summary.Timeline == 2, "node1 published as primary on timeline 2", TimeSpan.FromSeconds(10));
        Assert.Equal(1UL, cluster.Summary.Epoch);
        static bool Promoted(Event e) => e.Kind == EventKind.FailoverDecision && e.Message.StartsWith("node1 promoted (epoch 1, timeline 2)", StringComparison.Ordinal);
        Assert.Contains(await chaos.WaitForEventAsync(Promoted, "the promotion's completion event", TimeSpan.FromSeconds(30)), Promoted);
    }

    [Fact]
    public async Task PrimaryAgentGone_ReplicasStillStream_NoFailover()
    {
        await using var scenario = await WritingScenario.StartAsync(synchronous: false, output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);

        // The aggregator loses the primary's agent; Postgres and its replication are untouched.
        await chaos.Fleet.Agents[0].StopAsync();
        var until = writer.Now + TimeSpan.FromSeconds(8); // longer than failover timeout + lease + margin (3 + 2 + 1 s)
        while (writer.Now < until)
        {
            var cluster = await chaos.GetClusterAsync();
            Assert.Equal(0UL, cluster.Summary.Epoch);
            Assert.DoesNotContain(cluster.Nodes, n => n.Identity.Name != "node0" && n.Role == NodeRole.Primary);
            await Task.Delay(250);
        }

        await writer.StopAsync();
        Assert.All(writer.Acknowledgements, a => Assert.Equal("node0", a.Node));
        Assert.NotEmpty(writer.Acknowledgements);
        var events = await chaos.EventsAsync();
        Assert.Contains(events, e => e.Kind == EventKind.FailoverDecision && e.Message.StartsWith("no failover: replicas still stream from the primary", StringComparison.Ordinal));
        Assert.DoesNotContain(events, IsPromotion);
    }

    [Fact]
    public async Task WholePrimaryNodeLost_FailsOverAfterLease_NoSplitBrain()
    {
        await using var scenario = await WritingScenario.StartAsync(synchronous: false, output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        // Agent and Postgres of the primary both die.
        var lostAt = writer.Now;
        var stopAgent = chaos.Fleet.Agents[0].StopAsync();
        postgres.Primary.KillPostmaster();
        await stopAgent.WaitAsync(TimeSpan.FromSeconds(15));
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync(first.Node, 20);
        await writer.StopAsync();

        output.WriteLine($"writable again on {first.Node} {(first.At - lostAt).TotalMilliseconds:F0} ms after losing the whole primary node");
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        var cluster = await chaos.WaitForPrimaryAsync(first.Node, TimeSpan.FromSeconds(10));
        Assert.Equal(1UL, cluster.Summary.Epoch);
        var other = first.Node == "node1" ? "node2" : "node1";
        await chaos.WaitUntilAsync(c => c.Topology.Any(e => e.Node == other && e.Upstream == first.Node && e.Streaming), $"{other} streams from {first.Node}", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Switchover_PromotesChosenReplica_OldPrimaryRejoinsAsReplica_NoLoss_NoSplitBrain()
    {
        await using var scenario = await WritingScenario.StartAsync(synchronous: false, output.WriteLine);
        var (chaos, writer, postgres) = (scenario.Chaos, scenario.Writer, scenario.Chaos.Fleet.Postgres);
        await writer.WaitForAcknowledgementsAsync("node0", 20);

        var requestedAt = writer.Now;
        var response = await chaos.SwitchoverAsync("node2", "chaos test", "planned switchover");
        var first = await writer.WaitForWriteOnOtherNodeAsync("node0", TimeSpan.FromSeconds(30));
        await writer.WaitForAcknowledgementsAsync("node2", 20);
        await writer.StopAsync();

        output.WriteLine($"switchover: writable on {first.Node} {(first.At - requestedAt).TotalMilliseconds:F0} ms after the request; decision took {response.Decision.DurationMs} ms");
        Assert.Equal(DecisionOutcome.Completed, response.Decision.Outcome);
        Assert.Equal("node2", response.Decision.NewPrimary);
        Assert.Equal("node2", first.Node);
        Assert.Null(WriteHistory.FindSplitBrain(writer.Acknowledgements));
        await AssertNoAcknowledgedWriteMissingAsync(scenario, "node2");
        await chaos.WaitUntilAsync(c => c.Summary.Primary == "node2" && c.Topology.Any(e => e.Node == "node0" && e.Upstream == "node2" && e.Streaming),
            "the old primary node0 rejoined as a replica of node2", TimeSpan.FromSeconds(60));
        Assert.False(await PostgresProbe.IsWritableAsync(postgres.Primary.ConnectionString), "the old primary must not accept writes after rejoining");
    }

    /// <summary>Every write the writer saw acknowledged, on whichever node, is present on <paramref name="node"/> (the new primary).</summary>
    private static async Task AssertNoAcknowledgedWriteMissingAsync(WritingScenario scenario, string node)
    {
        var acknowledged = scenario.Writer.Acknowledgements;
        var missing = await WriteHistory.MissingOnAsync(scenario.Chaos.Fleet.Postgres.Nodes.Single(n => n.Name == node).ConnectionString, acknowledged);
        Assert.True(missing.Count == 0, $"{missing.Count} acknowledged writes are missing on {node}, the new primary, e.g. {string.Join(", ", missing.Take(5))}");
    }

    /// <summary>
    /// A promotion's decision event ("node1 promoted (epoch 1, timeline 2) in ..."). Matched by its shape, not by
    /// the word: a refusal such as "no replica is reachable: ... nobody could be promoted" is no promotion.
    /// </summary>
    private static bool IsPromotion(Event e) => e.Kind == EventKind.FailoverDecision && PromotionMessage().IsMatch(e.Message);

    [System.Text.RegularExpressions.GeneratedRegex(@"^\S+ promoted \(epoch \d+")]
    private static partial System.Text.RegularExpressions.Regex PromotionMessage();
}
