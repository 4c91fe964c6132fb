using Fleet.Agent.Tests.Host;
using Fleet.Protos.V1;
using Xunit.Abstractions;

namespace Fleet.Agent.Tests.Link;

/// <summary>
/// An aggregator that stops reading must not make the agent queue reports without bound.
/// <para>
/// How the bound arises: the fake's Kestrel grants each HTTP/2 stream (and the connection) a receive
/// window of 65,535 bytes and replenishes it only as the handler consumes the request body. Once the
/// handler stops reading, the agent's writes fill that window and then block in SocketsHttpHandler; the
/// report loop waits on that write, and meanwhile the collection loop keeps replacing the single
/// unread snapshot in the agent's subscription (a channel of capacity one, DropOldest). So, however
/// long the pause, at most a window's worth of reports plus the blocked one plus the newest snapshot
/// are in flight — and sequence numbers stay contiguous, because they are assigned when a report is
/// written, while the snapshots' collected_at jump over the pause.
/// </para>
/// </summary>
public sealed class LatestSnapshotWinsTests(ITestOutputHelper output)
{
    private const int Window = 65_535;
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    /// <summary>No completed write for this long while new snapshots keep coming means the agent is blocked by flow control.</summary>
    private static readonly TimeSpan StallEvidence = TimeSpan.FromSeconds(1);

    /// <summary>How long the agent stays blocked while its collection loop goes on.</summary>
    private static readonly TimeSpan BlockedFor = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task AggregatorStopsReading_AgentBlocksOnFlowControl_ThenSendsTheLatestSnapshotNotTheBacklog()
    {
        await using var aggregator = await FakeAggregator.StartAsync(kestrel =>
        {
            kestrel.Limits.Http2.InitialStreamWindowSize = Window;
            kestrel.Limits.Http2.InitialConnectionWindowSize = Window;
        });
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-slow-reader", interval: Interval);
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        var warmUp = new List<AgentReport>();
        for (var i = 0; i < 20; i++)
        {
            warmUp.Add(await connection.NextReportAsync());
        }

        connection.PauseReading();
        var (stalledAt, blockedSequence) = await WaitForStallAsync(agent);
        var pausedAt = DateTimeOffset.UtcNow;
        await Eventually.TrueAsync(
            () => agent.Board.Current!.CollectedAt.ToDateTimeOffset() >= pausedAt + BlockedFor, BlockedFor * 10, "the collection loop to go on");
        Assert.Equal(blockedSequence, agent.State.Link.LastReportSequence); // still blocked: nothing queued behind the scenes
        Assert.Equal(LinkState.Connected, (await agent.GetStatusAsync()).Link.State); // and the API still answers

        var readBeforePause = warmUp.Concat(connection.TakeBuffered().Select(m => m.Message.Report)).ToList();
        var lastRead = readBeforePause[^1].Sequence;
        var resumedAt = DateTimeOffset.UtcNow;
        connection.ResumeReading();
        var afterResume = new List<AgentReport>();
        do
        {
            afterResume.Add(await connection.NextReportAsync());
        }
        while (afterResume[^1].Snapshot.CollectedAt.ToDateTimeOffset() < resumedAt);

        var largest = readBeforePause.Concat(afterResume).Max(r => new AgentMessage { Report = r }.CalculateSize() + 5);
        var smallest = readBeforePause.Concat(afterResume).Min(r => new AgentMessage { Report = r }.CalculateSize() + 5);
        var inFlight = blockedSequence - lastRead;
        output.WriteLine(
            $"report size {smallest}..{largest} B; read before pause up to #{lastRead}; writes blocked at #{blockedSequence} after {stalledAt.TotalSeconds:F1} s; " +
            $"{afterResume.Count} reports after resume, the last collected {(afterResume[^1].Snapshot.CollectedAt.ToDateTimeOffset() - resumedAt).TotalMilliseconds:F0} ms after it");

        // Bounded by flow control, not by the length of the pause (~300 snapshots were collected meanwhile).
        Assert.InRange(inFlight, 1UL, (ulong)(Window / smallest) + 2);
        Assert.True(afterResume.Count <= (int)inFlight + 3, $"{afterResume.Count} reports to catch up, {inFlight} were in flight");
        // Nothing is lost on the wire: sequences continue where reading stopped.
        Assert.Equal(
            Enumerable.Range(0, afterResume.Count).Select(i => lastRead + 1 + (ulong)i),
            afterResume.Select(r => r.Sequence));
        // The snapshots collected while the agent was blocked were replaced, not queued: collected_at jumps over the pause.
        var collected = afterResume.Select(r => r.Snapshot.CollectedAt.ToDateTimeOffset()).ToList();
        var widestGap = collected.Zip(collected.Skip(1), (a, b) => b - a).DefaultIfEmpty().Max();
        Assert.True(widestGap >= BlockedFor, $"widest gap between consecutive reports' snapshots is {widestGap.TotalMilliseconds:F0} ms");
    }

    /// <summary>Waits until the agent's last completed report write stops advancing while snapshots keep being collected.</summary>
    private static async Task<(TimeSpan After, ulong Sequence)> WaitForStallAsync(RunningAgent agent)
    {
        var started = DateTimeOffset.UtcNow;
        var deadline = started + StallTimeout;
        var sequence = agent.State.Link.LastReportSequence;
        var since = DateTimeOffset.UtcNow;
        var collectedSince = agent.Board.Current!.CollectedAt.ToDateTimeOffset();
        while (DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(50);
            var now = DateTimeOffset.UtcNow;
            var current = agent.State.Link.LastReportSequence;
            if (current != sequence)
            {
                (sequence, since, collectedSince) = (current, now, agent.Board.Current!.CollectedAt.ToDateTimeOffset());
            }
            else if (now - since >= StallEvidence && agent.Board.Current!.CollectedAt.ToDateTimeOffset() - collectedSince >= StallEvidence / 2)
            {
                return (since - started, sequence);
            }
        }

        Assert.Fail($"The agent's report writes never blocked within {StallTimeout.TotalSeconds:F0} s (last sequence {sequence}).");
        return default;
    }
}
