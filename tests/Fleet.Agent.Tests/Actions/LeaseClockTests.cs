using Fleet.Agent.Actions;

namespace Fleet.Agent.Tests.Actions;

/// <summary>The primary lease as the agent counts it: from the send time of the report a grant answers.</summary>
public sealed class LeaseClockTests
{
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(2);

    [Fact]
    public void Grant_RunsFromTheReportsSendTime_NotFromWhenTheGrantArrives()
    {
        var clock = new LeaseClock();
        clock.ReportSent(7, At(10.0));

        Assert.True(clock.Grant(7, Lease, epoch: 3, ["node1", "node2"]));

        Assert.Equal(At(12.0), clock.ExpiresAt);
        Assert.True(clock.IsHeld(At(11.999)));
        Assert.False(clock.IsHeld(At(12.0)));
        Assert.Equal(TimeSpan.FromSeconds(0.5), clock.Remaining(At(11.5)));
        Assert.Equal(TimeSpan.Zero, clock.Remaining(At(13)));
        Assert.Equal(3UL, clock.Epoch);
        Assert.Equal(["node1", "node2"], clock.Replicas);
    }

    [Fact]
    public void Grant_OfAReportNeverSent_IsIgnored()
    {
        var clock = new LeaseClock();
        clock.ReportSent(1, At(0));

        Assert.False(clock.Grant(2, Lease, 1, []));
        Assert.Null(clock.ExpiresAt);
        Assert.False(clock.IsHeld(At(0)));
    }

    [Fact]
    public void Grant_OfAnOlderReport_NeverShortensTheLease()
    {
        var clock = new LeaseClock();
        clock.ReportSent(1, At(0));
        clock.ReportSent(2, At(1));
        clock.Grant(2, Lease, 1, ["a"]);

        clock.Grant(1, Lease, 1, ["a"]); // arrives late

        Assert.Equal(At(3), clock.ExpiresAt);
        Assert.Equal(2UL, clock.ReportSequence);
    }

    [Fact]
    public void Epoch_OnlyGrows()
    {
        var clock = new LeaseClock();
        clock.ReportSent(1, At(0));
        clock.ReportSent(2, At(0.5));
        clock.Grant(1, Lease, 5, []);
        clock.Grant(2, Lease, 4, []);

        Assert.Equal(5UL, clock.Epoch);
    }

    [Fact]
    public void ReportsOlderThanTheLast64_AreForgotten()
    {
        var clock = new LeaseClock();
        for (ulong sequence = 1; sequence <= 65; sequence++)
        {
            clock.ReportSent(sequence, At(sequence));
        }

        Assert.False(clock.Grant(1, Lease, 1, []));
        Assert.True(clock.Grant(2, Lease, 1, []));
    }

    [Fact]
    public void Release_ForgetsLeaseAndReplicas()
    {
        var clock = new LeaseClock();
        clock.ReportSent(1, At(0));
        clock.Grant(1, Lease, 1, ["node1"]);

        clock.Release();

        Assert.Null(clock.ExpiresAt);
        Assert.Empty(clock.Replicas);
        Assert.False(clock.IsHeld(At(0)));
    }

    internal static TimeSpan At(double seconds) => TimeSpan.FromSeconds(seconds);

    internal static LeaseClock Granted(double sentAt, params string[] replicas)
    {
        var clock = new LeaseClock();
        clock.ReportSent(1, At(sentAt));
        clock.Grant(1, Lease, 1, replicas);
        return clock;
    }
}
