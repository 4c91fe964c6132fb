using Fleet.Agent.Actions;
using static Fleet.Agent.Tests.Actions.LeaseClockTests;

namespace Fleet.Agent.Tests.Actions;

/// <summary>
/// The primary fences itself only when its lease has expired AND it lost a majority of the replicas named in
/// the last grant (docs/failover.md, "Primary lease and self-fencing").
/// </summary>
public sealed class SelfFencingTests
{
    // Lease granted on a report sent at t=0 s: held until t=2 s.
    [Theory]
    // lease held: never, whatever the replicas
    [InlineData(1.0, new string[0], false, "lease held for 1000 ms more")]
    [InlineData(1.999, new string[0], false, "lease held for 1 ms more")]
    // expired, majority (2 of 2, 2 of 3) still streaming: keep serving (only the aggregator was lost)
    [InlineData(2.0, new[] { "node1", "node2" }, false, "lease expired, but 2 of 2 replicas still stream from this primary")]
    // expired, lost one of two: majority of 2 is 2 -> fence
    [InlineData(2.0, new[] { "node1" }, true, "lease expired and only 1 of 2 replicas stream from this primary (majority 2)")]
    // expired, lost both
    [InlineData(5.0, new string[0], true, "lease expired and only 0 of 2 replicas stream from this primary (majority 2)")]
    // a streaming standby the grant did not name does not count
    [InlineData(3.0, new[] { "node9" }, true, "lease expired and only 0 of 2 replicas stream")]
    public void Decide_TwoReplicas(double now, string[] streaming, bool fence, string reason)
    {
        var lease = Granted(0, "node1", "node2");

        var decision = SelfFencing.Decide(isPrimary: true, alreadyFenced: false, lease, At(now), streaming);

        Assert.Equal(fence, decision.Fence);
        Assert.StartsWith(reason, decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "a", "b" }, false)] // 2 of 3 is a majority
    [InlineData(new[] { "a" }, true)]
    public void Decide_ThreeReplicas_MajorityIsTwo(string[] streaming, bool fence)
    {
        var lease = Granted(0, "a", "b", "c");

        Assert.Equal(fence, SelfFencing.Decide(true, false, lease, At(10), streaming).Fence);
    }

    [Fact]
    public void Decide_NoReplicaInTheGrant_NeverFences_NobodyCouldTakeOver()
    {
        var (fence, reason) = SelfFencing.Decide(true, false, Granted(0), At(60), []);

        Assert.False(fence);
        Assert.Equal("lease expired, but the cluster has no replica that could take over", reason);
    }

    [Theory]
    [InlineData(false, false, true)] // a replica
    [InlineData(true, true, true)] // fenced already
    [InlineData(true, false, false)] // never granted a lease (standalone or not managed yet)
    public void Decide_NotAPrimaryHoldingALease_NeverFences(bool isPrimary, bool alreadyFenced, bool granted)
    {
        var lease = granted ? Granted(0, "node1", "node2") : new LeaseClock();

        var (fence, reason) = SelfFencing.Decide(isPrimary, alreadyFenced, lease, At(60), []);

        Assert.False(fence);
        Assert.Equal("not a primary holding a lease", reason);
    }
}
