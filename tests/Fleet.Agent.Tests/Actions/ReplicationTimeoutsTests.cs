using Fleet.Agent.Actions;

namespace Fleet.Agent.Tests.Actions;

public sealed class ReplicationTimeoutsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    [Fact]
    public void Changes_PostgresDefaults_SetsAllFour_InTheirUnits()
    {
        var defaults = new Dictionary<string, long>
        {
            ["wal_sender_timeout"] = 60_000,
            ["wal_receiver_timeout"] = 60_000,
            ["wal_receiver_status_interval"] = 10,
            ["wal_retrieve_retry_interval"] = 5_000,
        };

        var changes = ReplicationTimeouts.Changes(ReplicationTimeouts.Wanted(Timeout), defaults);

        Assert.Equal(
            [("wal_sender_timeout", "2000ms"), ("wal_receiver_timeout", "2000ms"), ("wal_receiver_status_interval", "1s"), ("wal_retrieve_retry_interval", "1000ms")],
            changes);
    }

    [Fact]
    public void Changes_AlreadyRight_Nothing_OneMissingFromPgSettings_SetsIt()
    {
        var wanted = ReplicationTimeouts.Wanted(Timeout);
        Assert.Empty(ReplicationTimeouts.Changes(wanted, new Dictionary<string, long>(wanted)));

        var current = new Dictionary<string, long>(wanted);
        current.Remove("wal_receiver_timeout");
        Assert.Equal([("wal_receiver_timeout", "2000ms")], ReplicationTimeouts.Changes(wanted, current));
    }

    [Theory]
    [InlineData(2000, 2000, null)]
    [InlineData(1000, 500, null)] // shorter is fine
    [InlineData(60000, 2000, "wal_receiver_timeout is 60000 ms, longer than the aggregator's replication timeout of 2000 ms")]
    [InlineData(0, 2000, "wal_receiver_timeout is 0 (disabled), longer than")]
    [InlineData(60000, 60000, "wal_receiver_timeout is 60000 ms, wal_sender_timeout is 60000 ms, longer than")]
    public void Problem_WhenNotManaged_NamesEachSlowTimeout(long receiver, long sender, string? expected)
    {
        var current = new Dictionary<string, long> { ["wal_receiver_timeout"] = receiver, ["wal_sender_timeout"] = sender };

        var problem = ReplicationTimeouts.Problem(Timeout, current);

        if (expected is null)
        {
            Assert.Null(problem);
        }
        else
        {
            Assert.NotNull(problem);
            Assert.StartsWith(expected, problem, StringComparison.Ordinal);
            Assert.EndsWith("(set them, or let the agent: Postgres:ManageReplicationTimeouts)", problem, StringComparison.Ordinal);
        }
    }
}
