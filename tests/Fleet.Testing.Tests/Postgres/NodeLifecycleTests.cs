using Fleet.LocalFleet.Postgres;
using Npgsql;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>Tests that stop, kill or promote a server, each on its own primary + one replica.</summary>
public sealed class NodeLifecycleTests
{
    private static readonly PostgresClusterOptions OneReplica = new() { ReplicaCount = 1 };

    [Theory]
    [InlineData(PostgresStopMode.Fast)]
    [InlineData(PostgresStopMode.Immediate)]
    public async Task StopAsyncThenStartAsync_Replica_CatchesUpAndStreamsAgain(PostgresStopMode mode)
    {
        await using var cluster = await ClusterTimeouts.StartClusterAsync(OneReplica);
        var replica = cluster.Replicas[0];

        await replica.StopAsync(mode).WaitAsync(ClusterTimeouts.Condition);

        Assert.False(replica.IsRunning);
        await Polling.UntilAsync(
            async _ => !(await Sql.ReplicationAsync(cluster.Primary)).ContainsKey(replica.Name),
            ClusterTimeouts.Condition,
            "the primary to notice the stopped replica");
        // Written while the replica is down: its slot keeps the WAL until it comes back.
        await Sql.ExecuteAsync(cluster.Primary, "CREATE TABLE written_while_down (id int)");

        await replica.StartAsync().WaitAsync(ClusterTimeouts.Start);

        Assert.True(replica.IsRunning);
        await Sql.WaitUntilStreamingAsync(cluster.Primary, replica.Name);
        await cluster.WaitForReplicaCatchUpAsync(ClusterTimeouts.Condition).DefaultTimeout();
        Assert.Equal(1L, await Sql.ScalarAsync<long>(replica, "SELECT count(*) FROM pg_class WHERE relname = $1", "written_while_down"));
    }

    [Fact]
    public async Task KillPostmaster_Replica_KillsTheServerAndStartAsyncRecoversIt()
    {
        await using var cluster = await ClusterTimeouts.StartClusterAsync(OneReplica);
        var replica = cluster.Replicas[0];

        var pid = replica.KillPostmaster();

        Assert.False(ServerProcesses.IsAlive(pid));
        Assert.False(replica.IsRunning);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => replica.OpenConnectionAsync().DefaultTimeout());

        await replica.StartAsync().WaitAsync(ClusterTimeouts.Start);

        Assert.True(replica.IsRunning);
        await Sql.WaitUntilStreamingAsync(cluster.Primary, replica.Name);
    }

    [Fact]
    public async Task PromoteAsync_Replica_LeavesRecoveryAndAcceptsWrites()
    {
        await using var cluster = await ClusterTimeouts.StartClusterAsync(OneReplica);
        var replica = cluster.Replicas[0];

        await replica.PromoteAsync().WaitAsync(ClusterTimeouts.Start);

        Assert.False(await replica.IsInRecoveryAsync().DefaultTimeout());
        await Sql.ExecuteAsync(replica, "CREATE TABLE written_after_promotion (id int)");
        await Sql.ExecuteAsync(replica, "INSERT INTO written_after_promotion VALUES ($1)", 7);
        Assert.Equal(7, await Sql.ScalarAsync<int>(replica, "SELECT id FROM written_after_promotion"));
    }
}
