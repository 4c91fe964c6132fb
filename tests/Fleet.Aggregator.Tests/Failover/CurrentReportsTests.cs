using Fleet.Aggregator.Failover;
using Fleet.Aggregator.State;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Tests.Failover;

/// <summary>
/// Operator decisions wait for late reports (docs/failover.md, "Current reports first"): a connected agent
/// late by a fraction of a second is waited for, a stale or disconnected one is not.
/// </summary>
public sealed class CurrentReportsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan SilentAfter = TimeSpan.FromSeconds(1.5);
    private static readonly TimeSpan StaleAfter = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(true, 500, null)] // current
    [InlineData(true, 1500, null)] // exactly at the silent-after limit: still current
    [InlineData(true, 1600, 3400)] // late: waited for until it turns stale
    [InlineData(true, 5000, 0)] // turns stale now
    [InlineData(true, 5100, null)] // stale: not waited for
    [InlineData(false, 1600, null)] // disconnected: not waited for
    public void LateUntil_OnlyConnectedAgentsLateButNotStale(bool connected, int silentMilliseconds, int? lateForMilliseconds)
    {
        var record = Record("node1", Now.AddMilliseconds(-silentMilliseconds)) with { Connected = connected };

        var until = CurrentReports.LateUntil([record], Now, SilentAfter, StaleAfter);

        Assert.Equal(lateForMilliseconds is { } ms ? Now.AddMilliseconds(ms) : null, until);
    }

    [Fact]
    public void LateUntil_SeveralLate_IsWhenTheLastOfThemTurnsStale()
    {
        var until = CurrentReports.LateUntil([Record("node0", Now.AddSeconds(-4)), Record("node1", Now.AddSeconds(-2)), Record("node2", Now)], Now, SilentAfter, StaleAfter);

        Assert.Equal(Now.AddSeconds(3), until);
    }

    [Fact]
    public async Task WaitAsync_LateAgentReports_EndsOnItsReport()
    {
        var fleet = new FleetState();
        var now = TimeProvider.System.GetUtcNow();
        var staleAfter = TimeSpan.FromSeconds(60);
        Register(fleet, "pg", "node0", now);
        var late = Register(fleet, "pg", "node1", now.AddSeconds(-2));

        var wait = CurrentReports.WaitAsync(fleet, "pg", SilentAfter, staleAfter, TimeProvider.System, CancellationToken.None);
        Assert.False(wait.IsCompleted, "node1 is late: the wait must not end before it reports");
        Register(fleet, "other", "node1", now.AddSeconds(-2)); // another cluster's change wakes the wait, which goes on
        Assert.False(wait.IsCompleted);

        Assert.NotNull(fleet.ApplyReport(late.Key, late.SessionId, new AgentReport { Sequence = 1 }, TimeProvider.System.GetUtcNow()));

        Assert.True(await wait.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Null(CurrentReports.LateUntil(fleet.ClusterNodes("pg"), TimeProvider.System.GetUtcNow(), SilentAfter, staleAfter));
    }

    [Fact]
    public async Task WaitAsync_LateAgentStaysSilent_GivesUpWhenItTurnsStale()
    {
        var fleet = new FleetState();
        var staleAfter = TimeSpan.FromSeconds(2);
        Register(fleet, "pg", "node1", TimeProvider.System.GetUtcNow().AddSeconds(-1.8));

        Assert.False(await CurrentReports.WaitAsync(fleet, "pg", SilentAfter, staleAfter, TimeProvider.System, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Null(CurrentReports.LateUntil(fleet.ClusterNodes("pg"), TimeProvider.System.GetUtcNow(), SilentAfter, staleAfter));
    }

    [Fact]
    public async Task WaitAsync_NothingLate_EndsAtOnce()
    {
        var fleet = new FleetState();
        var now = TimeProvider.System.GetUtcNow();
        Register(fleet, "pg", "node0", now);
        var gone = Register(fleet, "pg", "node1", now.AddSeconds(-2));
        fleet.Disconnect(gone.Key, gone.SessionId);

        var wait = CurrentReports.WaitAsync(fleet, "pg", SilentAfter, StaleAfter, TimeProvider.System, CancellationToken.None);

        Assert.True(wait.IsCompletedSuccessfully);
        Assert.True(await wait);
    }

    private static NodeRecord Register(FleetState fleet, string cluster, string node, DateTimeOffset at)
    {
        var hello = new AgentHello { Identity = new NodeIdentity { Name = node, Cluster = cluster, Region = "local" }, InstanceId = node + "-instance" };
        var result = fleet.Register(hello, fleet.NewSessionId(), "127.0.0.1", at, StaleAfter);
        Assert.True(result.IsAccepted);
        return result.Record;
    }

    private static NodeRecord Record(string node, DateTimeOffset lastReport) => new()
    {
        Key = new NodeKey("pg", node),
        Hello = new AgentHello { Identity = new NodeIdentity { Name = node, Cluster = "pg", Region = "local" } },
        SessionId = 1,
        Peer = "127.0.0.1",
        ConnectedAt = lastReport,
        LastReportAt = lastReport,
    };
}
