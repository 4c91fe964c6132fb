using Fleet.LocalFleet.Postgres;

namespace Fleet.Testing.Tests.Postgres;

/// <summary>
/// One primary with two streaming replicas shared by every test of a class: starting a cluster takes
/// seconds, so read-mostly tests share one and only tests that break a cluster start their own.
/// </summary>
public sealed class TwoReplicaClusterFixture : IAsyncLifetime
{
    private LocalPostgresCluster? cluster;

    public LocalPostgresCluster Cluster =>
        cluster ?? throw new InvalidOperationException("The fixture has not been initialised.");

    public async Task InitializeAsync() =>
        cluster = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 2 })
            .WaitAsync(ClusterTimeouts.Start);

    public async Task DisposeAsync()
    {
        if (cluster is not null)
        {
            await cluster.DisposeAsync().AsTask().WaitAsync(ClusterTimeouts.Teardown);
        }
    }
}
