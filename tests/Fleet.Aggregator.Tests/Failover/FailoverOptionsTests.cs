using Fleet.Aggregator.Failover;

namespace Fleet.Aggregator.Tests.Failover;

/// <summary>The failover timings must hold together (docs/failover.md, "Settings").</summary>
public sealed class FailoverOptionsTests
{
    [Fact]
    public void Defaults_AreValid_AndWhatTheWelcomeCarries()
    {
        var options = new FailoverOptions();

        Assert.True(new FailoverOptionsValidator().Validate(null, options).Succeeded);
        var detection = options.ToDetectionSettings();
        Assert.Equal(TimeSpan.FromSeconds(2), detection.ReplicationTimeout.ToTimeSpan());
        Assert.Equal(TimeSpan.FromSeconds(3), detection.UnresponsiveTimeout.ToTimeSpan());
    }

    [Theory]
    [InlineData(4, 3)] // replicas would notice a silent primary only after the failover timeout
    [InlineData(0.5, 3)] // below PostgreSQL's useful resolution, and every network hiccup would drop a receiver
    public void ReplicationTimeout_OutsideOneSecondToFailoverTimeout_IsRefused_NamingBothKeys(double replication, double failover)
    {
        var options = new FailoverOptions { ReplicationTimeout = TimeSpan.FromSeconds(replication), FailoverTimeout = TimeSpan.FromSeconds(failover) };

        var result = new FailoverOptionsValidator().Validate(null, options);

        var failure = Assert.Single(result.Failures!);
        Assert.StartsWith("Failover:ReplicationTimeout must be between 00:00:01 and Failover:FailoverTimeout (00:00:03)", failure, StringComparison.Ordinal);
    }
}
