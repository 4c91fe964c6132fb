using Fleet.Agent.Link;

namespace Fleet.Agent.Tests.Link;

/// <summary>Which aggregator links may be open together (pure).</summary>
public sealed class LinkAdmissionTests
{
    [Theory]
    // first open link (endpoint a), then b asks: coordinated flags → b admitted?
    [InlineData(true, true, true)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, false)]
    public void SecondLink_AdmittedOnlyWhenBothAggregatorsAreCoordinated(bool first, bool second, bool admitted)
    {
        var admission = new LinkAdmission();
        Assert.Null(admission.TryOpen("a", first));

        var refusal = admission.TryOpen("b", second);

        Assert.Equal(admitted, refusal is null);
        if (!admitted)
        {
            Assert.Contains("acts alone (Coordination:Mode None", refusal, StringComparison.Ordinal);
            Assert.Contains("a", refusal, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void UncoordinatedLink_AdmittedAgainOnceTheOtherClosed_AndAReopenedSameEndpointIsNotItsOwnObstacle()
    {
        var admission = new LinkAdmission();
        Assert.Null(admission.TryOpen("a", coordinated: false));
        Assert.NotNull(admission.TryOpen("b", coordinated: false));
        Assert.Null(admission.TryOpen("a", coordinated: false)); // the same endpoint after a reconnect

        admission.Close("a");

        Assert.Null(admission.TryOpen("b", coordinated: false));
        Assert.NotNull(admission.TryOpen("c", coordinated: true));
    }

    [Fact]
    public void ThreeCoordinatedLinks_AllAdmitted_AnUncoordinatedOneHeldBackUntilAllClosed()
    {
        var admission = new LinkAdmission();
        Assert.Null(admission.TryOpen("a", coordinated: true));
        Assert.Null(admission.TryOpen("b", coordinated: true));
        Assert.Null(admission.TryOpen("c", coordinated: true));
        Assert.NotNull(admission.TryOpen("d", coordinated: false));

        admission.Close("a");
        admission.Close("b");
        Assert.NotNull(admission.TryOpen("d", coordinated: false));
        admission.Close("c");
        Assert.Null(admission.TryOpen("d", coordinated: false));
    }
}
