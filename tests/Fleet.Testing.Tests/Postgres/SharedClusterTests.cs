using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>Read-mostly checks that share one primary + two replicas.</summary>
public sealed class SharedClusterTests(TwoReplicaClusterFixture fixture) : IClassFixture<TwoReplicaClusterFixture>
{
    private LocalPostgresCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task StartAsync_EveryReplica_StreamsFromPrimaryThroughItsOwnSlot()
    {
        var replication = await Sql.ReplicationAsync(Cluster.Primary);
        foreach (var replica in Cluster.Replicas)
        {
            Assert.Equal("streaming", replication[replica.Name].State);
            Assert.True(await Sql.ScalarAsync<bool>(
                Cluster.Primary,
                "SELECT active FROM pg_replication_slots WHERE slot_name = $1 AND slot_type = 'physical'",
                replica.Name));
            Assert.True(await replica.IsInRecoveryAsync().DefaultTimeout());
        }

        Assert.Equal(2, replication.Count);
        Assert.False(await Cluster.Primary.IsInRecoveryAsync().DefaultTimeout());
    }

    [Fact]
    public async Task Insert_OnPrimary_BecomesVisibleOnEveryReplica()
    {
        var table = $"visibility_{Guid.NewGuid():N}";
        var payload = $"written at {DateTimeOffset.UtcNow:O}";
        await Sql.ExecuteAsync(Cluster.Primary, $"CREATE TABLE {table} (id int PRIMARY KEY, payload text NOT NULL)");
        await Sql.ExecuteAsync(Cluster.Primary, $"INSERT INTO {table} (id, payload) VALUES ($1, $2)", 1, payload);

        await Cluster.WaitForReplicaCatchUpAsync(ClusterTimeouts.Condition).DefaultTimeout();

        foreach (var replica in Cluster.Replicas)
        {
            Assert.Equal(payload, await Sql.ScalarAsync<string>(replica, $"SELECT payload FROM {table} WHERE id = $1", 1));
        }
    }

    [Fact]
    public async Task SwitchWalAsync_ArchivesTheCompletedSegment()
    {
        var segment = await Cluster.SwitchWalAsync().DefaultTimeout();

        await Cluster.WaitForArchivedAsync(segment, ClusterTimeouts.Condition).WaitAsync(ClusterTimeouts.Start);

        var archived = new FileInfo(Path.Combine(Cluster.ArchiveDirectory, segment));
        Assert.Equal(16 * 1024 * 1024, archived.Length);
    }

    [Theory]
    [InlineData("data_checksums", "on")]
    [InlineData("wal_level", "replica")]
    [InlineData("archive_mode", "on")]
    [InlineData("hot_standby", "on")]
    [InlineData("fsync", "off")]
    [InlineData("listen_addresses", "127.0.0.1")]
    public async Task Primary_RunsWithFixtureSetting(string setting, string expected)
    {
        Assert.Equal(expected, await Sql.ScalarAsync<string>(Cluster.Primary, "SELECT current_setting($1)", setting));
    }

    [Fact]
    public async Task RunPgToolAsync_PgControlData_ReportsPrimaryInProductionAndReplicasInRecovery()
    {
        foreach (var node in Cluster.Nodes)
        {
            var result = await Cluster.RunPgToolAsync("pg_controldata", ["-D", node.DataDirectory]).DefaultTimeout();

            result.EnsureSuccess();
            var expectedState = node == Cluster.Primary ? "in production" : "in archive recovery";
            Assert.Matches($@"Database cluster state:\s+{expectedState}\n", result.StandardOutput);
        }
    }

    [Fact]
    public void Nodes_HaveDistinctNamesPortsAndDataDirectoriesUnderTheRoot()
    {
        Assert.Equal(["node0", "node1", "node2"], Cluster.Nodes.Select(node => node.Name));
        Assert.Same(Cluster.Primary, Cluster.Nodes[0]);
        Assert.Equal(3, Cluster.Nodes.Select(node => node.Port).Distinct().Count());
        Assert.All(Cluster.Nodes, node =>
        {
            Assert.True(node.IsRunning);
            Assert.Equal(Path.Combine(Cluster.RootDirectory, node.Name), node.DataDirectory);
            Assert.Contains($"Port={node.Port}", node.ConnectionString, StringComparison.Ordinal);
        });
        Assert.StartsWith(Cluster.RootDirectory, Cluster.ArchiveDirectory, StringComparison.Ordinal);
    }
}
