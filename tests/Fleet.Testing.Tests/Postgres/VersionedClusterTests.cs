using Fleet.LocalFleet.Postgres;
using Fleet.Testing.Postgres;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>
/// Clusters of each supported major: the fetched binaries have no pg_basebackup, so their replicas are cloned
/// with the low-level backup API (pg_backup_start/stop on 15+, pg_start/stop_backup on 13-14).
/// </summary>
[Trait("Postgres", "Matrix")]
public sealed class VersionedClusterTests
{
    [Theory]
    [PostgresMajor(13)]
    [PostgresMajor(14)]
    [PostgresMajor(15)]
    [PostgresMajor(16)]
    [PostgresMajor(17)]
    [PostgresMajor(18)]
    public async Task StartAsync_Major_PrimaryAndStreamingReplicaOfThatVersion(int major)
    {
        var installation = await PostgresInstallation.ForMajorAsync(major).DefaultTimeout();
        await using var cluster = await ClusterTimeouts.StartClusterAsync(
            new PostgresClusterOptions { ReplicaCount = 1, BinDirectory = installation.BinDirectory });

        Assert.Equal(major, await Sql.ScalarAsync<int>(cluster.Primary, "SELECT current_setting('server_version_num')::int / 10000"));
        Assert.Equal("streaming", (await Sql.ReplicationAsync(cluster.Primary))["node1"].State);
        Assert.Equal("node1", await Sql.ScalarAsync<string>(cluster.Primary, "SELECT slot_name::text FROM pg_replication_slots WHERE active"));
        await Sql.ExecuteAsync(cluster.Primary, "CREATE TABLE cloned (id int); INSERT INTO cloned VALUES (42)");
        await cluster.WaitForReplicaCatchUpAsync(ClusterTimeouts.Condition);
        Assert.Equal(42, await Sql.ScalarAsync<int>(cluster.Replicas[0], "SELECT id FROM cloned"));
        Assert.True(await cluster.Replicas[0].IsInRecoveryAsync().DefaultTimeout());
    }

    [Fact]
    public async Task ForMajorAsync_UnknownMajor_SaysHowToFetchIt()
    {
        var error = await Assert.ThrowsAsync<PostgresClusterException>(() => PostgresInstallation.ForMajorAsync(99).DefaultTimeout());

        Assert.Contains("scripts/fetch-postgres.sh 99", error.Message, StringComparison.Ordinal);
    }
}
