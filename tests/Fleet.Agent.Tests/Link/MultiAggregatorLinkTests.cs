using Fleet.Agent.Tests.Host;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Link;

/// <summary>
/// An agent given several aggregator endpoints: linked to all of them when they are coordinated (one leader acts,
/// every one holds the picture), to one at a time when they act alone. Real gRPC servers (<see cref="FakeAggregator"/>).
/// </summary>
public sealed class MultiAggregatorLinkTests
{
    [Fact]
    public async Task CoordinatedAggregators_TheAgentLinksToEach_ReportsToEach_StatusListsBothAndNamesTheLeader()
    {
        await using var leader = await FakeAggregator.StartAsync();
        await using var follower = await FakeAggregator.StartAsync();
        (leader.Coordinated, follower.Coordinated, follower.Leader) = (true, true, false);
        await using var agent = await LinkTestAgent.StartAsync(
            follower, "multi-coordinated", configure: settings => settings["Aggregator:Endpoints:1"] = leader.Endpoint);

        var toFollower = await follower.NextConnectionAsync(LinkTestAgent.Timeout);
        var toLeader = await leader.NextConnectionAsync(LinkTestAgent.Timeout);
        var fromFollower = await toFollower.NextReportAsync();
        var fromLeader = await toLeader.NextReportAsync();

        Assert.Equal(toFollower.Hello.InstanceId, toLeader.Hello.InstanceId);
        Assert.NotEqual(fromFollower.Sequence, fromLeader.Sequence); // one sequence per report sent, whatever the link
        var status = await agent.WaitForStatusAsync(
            s => s.Links.Count == 2 && s.Links.All(l => l.State == LinkState.Connected), LinkTestAgent.Timeout, "both links connected");
        Assert.Equal([follower.Endpoint, leader.Endpoint], status.Links.Select(l => l.Address));
        Assert.Equal([false, true], status.Links.Select(l => l.Leader));
        Assert.Equal(leader.Endpoint, status.Link.Address); // the link that matters most is the leader's
        Assert.Contains("\nfleet_agent_link_connected 1\n", (await agent.GetAsync("/metrics")).Body, StringComparison.Ordinal);

        // Losing one leaves the other: reports keep going to the leader.
        await follower.DisposeAsync();
        await toLeader.NextReportAsync();
        status = await agent.WaitForStatusAsync(s => s.Links[0].State != LinkState.Connected, LinkTestAgent.Timeout, "the follower's link lost");
        Assert.Equal(LinkState.Connected, status.Links[1].State);
        Assert.Empty(agent.Logs.Errors);
    }

    [Fact]
    public async Task AggregatorsActingAlone_TheAgentLinksToOneAtATime_TheOtherHeldBackUntilTheFirstGoes()
    {
        await using var first = await FakeAggregator.StartAsync();
        await using var second = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(
            first, "multi-alone", minDelay: TimeSpan.FromMilliseconds(50), maxDelay: TimeSpan.FromMilliseconds(300),
            configure: settings => settings["Aggregator:Endpoints:1"] = second.Endpoint);

        // Exactly one link, the other held back by the agent itself after its Welcome, with the reason.
        var status = await agent.WaitForStatusAsync(
            s => s.Links.Count(l => l.State == LinkState.Connected) == 1 && s.Links.Any(l => l.LastError.Contains("acts alone", StringComparison.Ordinal)),
            LinkTestAgent.Timeout, "one link connected and the other held back");
        var linked = status.Links.Single(l => l.State == LinkState.Connected).Address;
        var (linkedFake, heldFake) = linked == first.Endpoint ? (first, second) : (second, first);
        Assert.Contains(agent.Logs.Entries, e => e.EventId.Id == 2005 && e.Message.Contains(heldFake.Endpoint, StringComparison.Ordinal));

        // While the one link lasts, the other never gets one: every welcome it gives is followed by the agent leaving.
        var heldHellos = heldFake.Hellos.Count;
        await Eventually.TrueAsync(() => heldFake.Hellos.Count >= heldHellos + 2, LinkTestAgent.Timeout, "the held-back endpoint to be tried again");
        Assert.Single((await agent.GetStatusAsync()).Links, l => l.State == LinkState.Connected);
        Assert.Equal(linked, (await agent.GetStatusAsync()).Link.Address);

        // The linked aggregator goes away: the other one is linked.
        await linkedFake.DisposeAsync();
        status = await agent.WaitForStatusAsync(
            s => s.Links.Single(l => l.Address == heldFake.Endpoint).State == LinkState.Connected, LinkTestAgent.Timeout, "the other aggregator linked");
        Assert.Single(status.Links, l => l.State == LinkState.Connected);
    }
}
