using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Tests.Postgres;

public sealed class PostgresClusterOptionsTests
{
    [Fact]
    public void Validate_Defaults_Pass()
    {
        new PostgresClusterOptions().Validate();
    }

    [Fact]
    public void Validate_SeveralProblems_NamesEveryOne()
    {
        var options = new PostgresClusterOptions
        {
            ReplicaCount = 0,
            Synchronous = SynchronousReplication.AnyReplica,
            StartTimeout = TimeSpan.Zero,
            ExtraSettings = new Dictionary<string, string> { ["bad name"] = "x", ["work_mem"] = "1\nfsync = on" },
        };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.Contains("Synchronous=AnyReplica needs at least one replica", error.Message, StringComparison.Ordinal);
        Assert.Contains("StartTimeout must be positive", error.Message, StringComparison.Ordinal);
        Assert.Contains("'bad name' is not a setting name", error.Message, StringComparison.Ordinal);
        Assert.Contains("['work_mem'] must be a single line", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(PostgresClusterOptions.MaxReplicaCount + 1)]
    public void Validate_ReplicaCountOutOfRange_Fails(int replicaCount)
    {
        var error = Assert.Throws<ArgumentException>(new PostgresClusterOptions { ReplicaCount = replicaCount }.Validate);

        Assert.Contains("ReplicaCount must be between 0 and", error.Message, StringComparison.Ordinal);
    }
}
