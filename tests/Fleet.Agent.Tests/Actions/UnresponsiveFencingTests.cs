using Fleet.Agent.Actions;
using static Fleet.Agent.Tests.Actions.LeaseClockTests;

namespace Fleet.Agent.Tests.Actions;

/// <summary>
/// A primary whose PostgreSQL does not answer is killed when it stayed silent for the unresponsive timeout, or
/// when the lease expired meanwhile; never without replicas, never a replica.
/// </summary>
public sealed class UnresponsiveFencingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    // Lease on a report sent at t=10 s: held until t=12 s.
    [Theory]
    [InlineData(10.5, 0.0, false, "PostgreSQL answers")]
    [InlineData(10.5, 1.0, false, "PostgreSQL has not answered for 1.0 s; waiting up to 3.0 s")]
    [InlineData(11.9, 2.9, false, "PostgreSQL has not answered for 2.9 s; waiting up to 3.0 s")]
    [InlineData(11.0, 3.0, true, "PostgreSQL has not answered for 3.0 s (unresponsive timeout 3.0 s): killing it")]
    [InlineData(12.0, 0.6, true, "the lease expired while PostgreSQL has not answered for 0.6 s")]
    public void Decide_PrimaryWithReplicas(double now, double unanswered, bool kill, string reason)
    {
        var lease = Granted(10, "node1", "node2");

        var decision = UnresponsiveFencing.Decide(true, false, lease, At(now), TimeSpan.FromSeconds(unanswered), Timeout);

        Assert.Equal(kill, decision.Kill);
        Assert.StartsWith(reason, decision.Reason, StringComparison.Ordinal);
    }

    // A stalled storage is decided like a server that does not answer; the reason names it.
    [Theory]
    [InlineData(10.5, 5.0, true, "its storage has not completed a write for 5.0 s (unresponsive timeout 3.0 s): killing it")]
    [InlineData(12.0, 1.0, true, "the lease expired while its storage has not completed a write for 1.0 s")]
    [InlineData(10.5, 1.0, false, "its storage has not completed a write for 1.0 s; waiting up to 3.0 s")]
    public void Decide_StalledStorage_NamesIt(double now, double stalled, bool kill, string reason)
    {
        var decision = UnresponsiveFencing.Decide(true, false, Granted(10, "node1"), At(now), TimeSpan.FromSeconds(stalled), Timeout, UnresponsiveFencing.StorageStalled);

        Assert.Equal(kill, decision.Kill);
        Assert.StartsWith(reason, decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Decide_NoReplica_NeverKills_EvenAfterTheLease()
    {
        var (kill, reason) = UnresponsiveFencing.Decide(true, false, Granted(0), At(60), TimeSpan.FromSeconds(30), Timeout);

        Assert.False(kill);
        Assert.Contains("no replica that could take over", reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, false, true)]
    [InlineData(true, true, true)]
    [InlineData(true, false, false)]
    public void Decide_NotAPrimaryHoldingALease_NeverKills(bool isPrimary, bool alreadyFenced, bool granted)
    {
        var lease = granted ? Granted(0, "node1") : new LeaseClock();

        Assert.False(UnresponsiveFencing.Decide(isPrimary, alreadyFenced, lease, At(60), TimeSpan.FromSeconds(30), Timeout).Kill);
    }
}
