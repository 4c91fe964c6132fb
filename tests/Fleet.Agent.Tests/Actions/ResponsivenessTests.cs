using Fleet.Agent.Actions;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using static Fleet.Agent.Tests.Actions.LeaseClockTests;

namespace Fleet.Agent.Tests.Actions;

public sealed class ResponsivenessTests
{
    [Fact]
    public void UnansweredFor_CountsFromTheFirstUnansweredPingsStart_AndEndsWithAnAnswer()
    {
        var responsiveness = new Responsiveness();
        Assert.Equal(TimeSpan.Zero, responsiveness.UnansweredFor(At(1)));

        responsiveness.Record(PingOutcome.NoAnswer, At(1));
        responsiveness.Record(PingOutcome.NoAnswer, At(2)); // still counted from 1
        Assert.Equal(At(2.5), responsiveness.UnansweredFor(At(3.5)));

        responsiveness.Record(PingOutcome.Answered, At(3.6));
        Assert.Equal(TimeSpan.Zero, responsiveness.UnansweredFor(At(4)));
    }

    [Fact]
    public void Refused_IsNotUnresponsive_AStoppedServerIsDown()
    {
        var responsiveness = new Responsiveness();
        responsiveness.Record(PingOutcome.NoAnswer, At(1));

        responsiveness.Record(PingOutcome.Refused, At(2));

        Assert.Equal(TimeSpan.Zero, responsiveness.UnansweredFor(At(5)));
    }

    [Fact]
    public void Reset_ForgetsTheUnansweredStretch()
    {
        var responsiveness = new Responsiveness();
        responsiveness.Record(PingOutcome.NoAnswer, At(1));

        responsiveness.Reset();

        Assert.Equal(TimeSpan.Zero, responsiveness.UnansweredFor(At(5)));
    }
}

public sealed class DetectionTimingTests
{
    [Fact]
    public void Defaults_UntilAWelcomeSaysOtherwise_ThenTheAggregatorsValues()
    {
        var timing = new DetectionTiming();
        var changes = 0;
        timing.Changed += () => changes++;
        Assert.Equal(TimeSpan.FromSeconds(3), timing.UnresponsiveTimeout);
        Assert.Null(timing.ReplicationTimeout);

        timing.Apply(null); // an aggregator that sends none
        timing.Apply(new DetectionSettings()); // or zero values
        Assert.Equal(0, changes);
        Assert.Null(timing.ReplicationTimeout);

        var settings = new DetectionSettings { ReplicationTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(4)), UnresponsiveTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(6)) };
        timing.Apply(settings);
        timing.Apply(settings); // the same again after a reconnect: no change event

        Assert.Equal(TimeSpan.FromSeconds(4), timing.ReplicationTimeout);
        Assert.Equal(TimeSpan.FromSeconds(6), timing.UnresponsiveTimeout);
        Assert.Equal(1, changes);
    }
}
