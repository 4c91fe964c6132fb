using Fleet.LocalFleet.Postgres;

namespace Fleet.Agent.Tests.Collection;

/// <summary>One primary with two streaming replicas and archiving, shared by the collection tests that leave it as they found it.</summary>
public sealed class CollectionClusterFixture : IAsyncLifetime
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private LocalPostgresCluster? _cluster;

    public IPostgresCluster Cluster => _cluster ?? throw new InvalidOperationException("The cluster is not started.");

    public async Task InitializeAsync() =>
        _cluster = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 2 }).WaitAsync(StartTimeout);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
    }
}

[CollectionDefinition(Name)]
public sealed class CollectionClusterGroup : ICollectionFixture<CollectionClusterFixture>
{
    public const string Name = "Collection: shared cluster";
}
