using System.Text.RegularExpressions;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>Start-up options, failures and teardown; each test owns its cluster.</summary>
public sealed partial class ClusterStartupTests
{
    [Theory]
    [InlineData(SynchronousReplication.FirstReplica, "sync", "potential")]
    [InlineData(SynchronousReplication.AnyReplica, "quorum", "quorum")]
    public async Task StartAsync_Synchronous_SetsTheStandbysSyncStates(
        SynchronousReplication synchronous, string node1State, string node2State)
    {
        await using var cluster = await ClusterTimeouts.StartClusterAsync(
            new PostgresClusterOptions { ReplicaCount = 2, Synchronous = synchronous });

        var replication = await Sql.ReplicationAsync(cluster.Primary);

        Assert.Equal(node1State, replication["node1"].SyncState);
        Assert.Equal(node2State, replication["node2"].SyncState);
        // Commits now wait for a standby's confirmation; they must not hang.
        await Sql.ExecuteAsync(cluster.Primary, "CREATE TABLE committed_synchronously (id int)");
    }

    [Fact]
    public async Task StartAsync_NoReplicasAndNoArchive_StartsALonePrimary()
    {
        await using var cluster = await ClusterTimeouts.StartClusterAsync(
            new PostgresClusterOptions { ReplicaCount = 0, ArchiveEnabled = false });

        Assert.Empty(cluster.Replicas);
        Assert.Equal("off", await Sql.ScalarAsync<string>(cluster.Primary, "SELECT current_setting('archive_mode')"));
        var segment = await cluster.SwitchWalAsync().DefaultTimeout();
        await Assert.ThrowsAsync<InvalidOperationException>(() => cluster.WaitForArchivedAsync(segment));
    }

    [Fact]
    public async Task DisposeAsync_StopsEveryServerAndDeletesTheRootDirectory()
    {
        var cluster = await ClusterTimeouts.StartClusterAsync(new PostgresClusterOptions { ReplicaCount = 1 });
        var root = cluster.RootDirectory;
        Assert.NotEmpty(ServerProcesses.Mentioning(Path.GetFileName(root)));

        await cluster.DisposeAsync().AsTask().WaitAsync(ClusterTimeouts.Teardown);
        await cluster.DisposeAsync().AsTask().WaitAsync(ClusterTimeouts.Teardown);

        Assert.False(Directory.Exists(root));
        Assert.Empty(ServerProcesses.Mentioning(Path.GetFileName(root)));
        Assert.All(cluster.Nodes, node => Assert.False(node.IsRunning));
    }

    [Fact]
    public async Task StartAsync_InvalidSetting_ThrowsWithServerLogTailAndLeavesNothingBehind()
    {
        var options = new PostgresClusterOptions
        {
            ReplicaCount = 1,
            ExtraSettings = new Dictionary<string, string> { ["shared_buffers"] = "lots" },
        };

        var error = await Assert.ThrowsAsync<PostgresClusterException>(() => ClusterTimeouts.StartClusterAsync(options));

        // The server's own complaint, quoted from its log file.
        Assert.Contains("invalid value for parameter \"shared_buffers\": \"lots\"", error.Message, StringComparison.Ordinal);
        AssertRemoved(ClusterDirectory().Match(error.Message).Value);
    }

    [Fact]
    public async Task StartAsync_CancelledOnceThePrimaryRuns_ThrowsAndLeavesNothingBehind()
    {
        using var cancellation = new CancellationTokenSource();
        var steps = new List<string>();
        var options = new PostgresClusterOptions
        {
            ReplicaCount = 1,
            Log = step =>
            {
                lock (steps)
                {
                    steps.Add(step);
                }

                if (step.StartsWith("node0: started", StringComparison.Ordinal))
                {
                    cancellation.Cancel();
                }
            },
        };

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => LocalPostgresCluster.StartAsync(options, cancellation.Token).WaitAsync(ClusterTimeouts.Start));

        Assert.Contains(steps, step => step.StartsWith("node0: started", StringComparison.Ordinal));
        AssertRemoved(ClusterDirectory().Match(steps[0]).Value);
    }

    private static void AssertRemoved(string clusterDirectoryName)
    {
        Assert.StartsWith(LocalPostgresCluster.DirectoryPrefix, clusterDirectoryName, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Path.GetTempPath(), clusterDirectoryName)));
        Assert.Empty(ServerProcesses.Mentioning(clusterDirectoryName));
    }

    [GeneratedRegex(@"fleet-pg-[A-Za-z0-9]+")]
    private static partial Regex ClusterDirectory();
}
