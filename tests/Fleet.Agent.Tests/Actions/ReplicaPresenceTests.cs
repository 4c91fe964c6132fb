using Fleet.Agent.Actions;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using static Fleet.Agent.Tests.Actions.LeaseClockTests;

namespace Fleet.Agent.Tests.Actions;

/// <summary>A replica counts for self-fencing while its replies keep coming, not while its row merely exists.</summary>
public sealed class ReplicaPresenceTests
{
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(2);

    [Fact]
    public void RowKeptButRepliesStopped_LostAfterTheWindow_AsInASilentPartition()
    {
        var presence = new ReplicaPresence();
        presence.Observe([Streaming("node1", replySecond: 100)], At(0));
        presence.Observe([Streaming("node1", replySecond: 101)], At(1));

        // Cut off: the WAL sender keeps the row (until wal_sender_timeout), the reply time stops moving.
        presence.Observe([Streaming("node1", replySecond: 101)], At(2));
        presence.Observe([Streaming("node1", replySecond: 101)], At(3));
        Assert.Contains("node1", presence.Attached(Window));

        presence.Observe([Streaming("node1", replySecond: 101)], At(3.001));
        Assert.DoesNotContain("node1", presence.Attached(Window));
    }

    [Fact]
    public void RowGoneForAMoment_StillAttached_AsAReceiverRestarting()
    {
        var presence = new ReplicaPresence();
        presence.Observe([Streaming("node1", 100), Streaming("node2", 100)], At(0));
        presence.Observe([Streaming("node2", 101)], At(1)); // node1's receiver restarts
        presence.Observe([Streaming("node1", 102), Streaming("node2", 102)], At(1.8));

        Assert.Equal(["node1", "node2"], presence.Attached(Window).Order());
    }

    [Fact]
    public void OnlyStreamingRowsCount_AndAReplyWithoutTimeCountsWhileTheRowIsThere()
    {
        var presence = new ReplicaPresence();
        var catchingUp = Streaming("node1", 100);
        catchingUp.State = "catchup";
        var noReplyYet = new NodeSnapshot.Types.Standby { ApplicationName = "node2", State = "streaming" };

        presence.Observe([catchingUp, noReplyYet], At(0));
        presence.Observe([noReplyYet], At(5));

        Assert.Equal(["node2"], presence.Attached(Window));
    }

    [Fact]
    public void AgentFrozenItself_NoNewSnapshot_DoesNotTakeItsOwnSilenceForTheReplicas()
    {
        var presence = new ReplicaPresence();
        presence.Observe([Streaming("node1", 100), Streaming("node2", 100)], At(0));

        // 8 s without a snapshot (the agent was stopped): judged as of the last snapshot, both still count.
        Assert.Equal(2, presence.Attached(Window).Count);

        presence.Observe([Streaming("node1", 108), Streaming("node2", 108)], At(8.5));
        Assert.Equal(2, presence.Attached(Window).Count);
    }

    private static NodeSnapshot.Types.Standby Streaming(string name, double replySecond) => new()
    {
        ApplicationName = name,
        State = "streaming",
        ReplyTime = Timestamp.FromDateTimeOffset(DateTimeOffset.UnixEpoch.AddSeconds(replySecond)),
    };
}
