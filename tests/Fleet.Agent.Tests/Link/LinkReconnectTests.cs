using Fleet.Agent.Tests.Host;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Link;

/// <summary>What the agent does when the aggregator refuses it or ends the stream: reconnect with backoff, slowly after a refusal.</summary>
public sealed class LinkReconnectTests
{
    /// <summary>How long a refused agent is watched for further attempts (it waits 30 s before the next one).</summary>
    private static readonly TimeSpan RefusalWatch = TimeSpan.FromSeconds(3);

    [Theory]
    [InlineData(AggregatorBehaviour.RejectInWelcome)]
    [InlineData(AggregatorBehaviour.PermissionDenied)]
    public async Task Refused_LinkRejectedWithReason_AndNoFastRetries(AggregatorBehaviour behaviour)
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        aggregator.Behaviour = behaviour;
        // A tiny reconnect delay: any retry loop that ignored the refusal would show up as dozens of attempts.
        await using var agent = await LinkTestAgent.StartAsync(
            aggregator, "link-refused", minDelay: TimeSpan.FromMilliseconds(20), maxDelay: TimeSpan.FromMilliseconds(100));

        var status = await agent.WaitForStatusAsync(s => s.Link.State == LinkState.Rejected, LinkTestAgent.Timeout, "link rejected");
        var expectedReason = behaviour == AggregatorBehaviour.RejectInWelcome
            ? aggregator.RejectReason
            : "agent of region 'elsewhere' refused by the aggregator of region 'test-region'";
        Assert.Equal(expectedReason, status.Link.LastError);
        // Watch for further attempts: a refused agent waits 30 s before the next one.
        var rejectedAt = aggregator.Now;
        await Eventually.TrueAsync(() => aggregator.Now - rejectedAt >= RefusalWatch, RefusalWatch * 2, "the watch period to pass");

        Assert.InRange(aggregator.Attempts.Count, 1, 2);
        Assert.Equal(LinkState.Rejected, (await agent.GetStatusAsync()).Link.State);
        Assert.Contains(agent.Logs.Entries, e => e.EventId.Id == 2003 && e.Message.Contains(expectedReason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task StreamClosedByAggregator_ReconnectsWithNewHelloAfterBackoff()
    {
        var minDelay = TimeSpan.FromMilliseconds(400);
        await using var aggregator = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-reconnect", minDelay: minDelay, maxDelay: TimeSpan.FromSeconds(5));
        var first = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        await first.NextReportAsync();
        await agent.WaitForStatusAsync(s => s.Link.State == LinkState.Connected, LinkTestAgent.Timeout, "link connected");

        first.Close();
        var second = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        var report = await second.NextReportAsync();

        Assert.Equal(first.Hello.InstanceId, second.Hello.InstanceId);
        Assert.Equal(first.Hello.Identity, second.Hello.Identity);
        // The Welcome reset the backoff, so the first retry waits between half and all of the minimum delay.
        var pause = second.HelloAt - first.ClosedAt;
        Assert.True(pause >= minDelay / 2, $"reconnected after {pause.TotalMilliseconds:F0} ms; the backoff floor is {(minDelay / 2).TotalMilliseconds:F0} ms");
        Assert.True(pause < minDelay + TimeSpan.FromSeconds(5), $"reconnected only after {pause.TotalMilliseconds:F0} ms");
        Assert.NotNull(report.Snapshot);
        var status = await agent.WaitForStatusAsync(s => s.Link.State == LinkState.Connected, LinkTestAgent.Timeout, "link connected again");
        Assert.NotEqual("", status.Link.LastError); // why the first stream ended, kept for operators
        Assert.Equal(1, agent.State.LinkReconnects);
        Assert.Equal(2, aggregator.Attempts.Count);
        var metrics = (await agent.GetAsync("/metrics")).Body;
        Assert.Contains("\nfleet_agent_link_connected 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("\nfleet_agent_link_reconnects_total 1\n", metrics, StringComparison.Ordinal);
        Assert.Empty(agent.Logs.Errors);
    }

    [Fact]
    public async Task HangUpBeforeWelcome_RetriesBackOffExponentiallyUpToTheCap()
    {
        var min = TimeSpan.FromMilliseconds(100);
        var max = TimeSpan.FromMilliseconds(800);
        await using var aggregator = await FakeAggregator.StartAsync();
        aggregator.Behaviour = AggregatorBehaviour.HangUpAfterHello;
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-backoff", minDelay: min, maxDelay: max);

        // Delays before retries 1..6 are drawn from [c/2, c] with c = 100, 200, 400, 800, 800, 800 ms: about 3 s in all.
        await Eventually.TrueAsync(() => aggregator.Hellos.Count >= 7, TimeSpan.FromSeconds(30), "seven hellos");
        var status = await agent.GetStatusAsync();

        var at = aggregator.Hellos.Select(h => h.At).ToList();
        var gaps = at.Zip(at.Skip(1), (a, b) => b - a).Take(6).ToList();
        var ceilings = new[] { 100, 200, 400, 800, 800, 800 }.Select(ms => TimeSpan.FromMilliseconds(ms)).ToList();
        var shown = string.Join(", ", gaps.Select(g => $"{g.TotalMilliseconds:F0} ms"));
        for (var i = 0; i < gaps.Count; i++)
        {
            // Never sooner than the jitter floor; never much later than the ceiling (a busy machine adds a little).
            Assert.True(gaps[i] >= ceilings[i] / 2 - TimeSpan.FromMilliseconds(5), $"retry {i + 1} came too soon: {shown}");
            Assert.True(gaps[i] <= ceilings[i] + TimeSpan.FromSeconds(2), $"retry {i + 1} came too late: {shown}");
        }

        Assert.True(gaps[3] >= max / 2 - TimeSpan.FromMilliseconds(5), $"the delay did not grow: {shown}");
        Assert.Contains(status.Link.State, new[] { LinkState.Disconnected, LinkState.Connecting });
        Assert.NotEqual("", status.Link.LastError);
        Assert.All(aggregator.Hellos, h => Assert.Equal(agent.State.InstanceId, h.Hello.InstanceId));
    }

    [Fact]
    public async Task HangUpBeforeWelcome_LastErrorSaysWhy()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        aggregator.Behaviour = AggregatorBehaviour.HangUpAfterHello;
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-no-welcome", minDelay: TimeSpan.FromSeconds(5), maxDelay: TimeSpan.FromSeconds(5));

        var status = await agent.WaitForStatusAsync(s => s.Link.State == LinkState.Disconnected, LinkTestAgent.Timeout, "link disconnected");

        Assert.Equal("The aggregator did not answer the hello with a Welcome.", status.Link.LastError);
    }

    [Fact]
    public async Task Reconnect_SameInstance_SequenceContinues()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-sequence", interval: TimeSpan.FromMilliseconds(100));
        var first = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        var last = await first.NextReportAsync();
        last = await first.NextReportAsync();

        first.Close();
        var second = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        var next = await second.NextReportAsync();

        Assert.Equal(first.Hello.InstanceId, second.Hello.InstanceId);
        Assert.True(next.Sequence > last.Sequence, $"sequence {next.Sequence} after {last.Sequence} under the same instance_id");
    }
}
