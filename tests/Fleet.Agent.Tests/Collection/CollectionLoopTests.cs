using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Tests.Collection;

[Collection(CollectionClusterGroup.Name)]
public sealed class CollectionLoopTests(CollectionClusterFixture fixture)
{
    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task CollectNowAsync_WhileTheLoopRuns_NeverOverlapsAndPublishesWhatItReturns()
    {
        await using var collector = TestCollector.Create(Primary);
        var board = new SnapshotBoard();
        var options = Options.Create(new AgentOptions { Collection = new CollectionOptions { Interval = TimeSpan.FromMilliseconds(20) } });
        using var loop = new CollectionLoop(collector.Collector, board, options, TimeProvider.System, NullLogger<CollectionLoop>.Instance);
        using var subscription = board.Subscribe();

        await loop.StartAsync(CancellationToken.None).WaitAsync(TestCollector.CollectTimeout);
        try
        {
            var snapshots = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => loop.CollectNowAsync(CancellationToken.None)))
                .WaitAsync(TestCollector.CollectTimeout);
            var published = await subscription.Reader.ReadAsync().AsTask().WaitAsync(TestCollector.CollectTimeout);

            Assert.All(snapshots, snapshot => Assert.Equal(PostgresState.Up, snapshot.PostgresState));
            Assert.Equal(PostgresState.Up, published.PostgresState);
            Assert.True(collector.Batches >= 8);
            Assert.Equal(1, collector.Collector.Batches.MaxInFlight);
        }
        finally
        {
            await loop.StopAsync(CancellationToken.None).WaitAsync(TestCollector.CollectTimeout);
        }

        var last = await loop.CollectNowAsync(CancellationToken.None).WaitAsync(TestCollector.CollectTimeout);
        Assert.Same(last, board.Current);
    }

    [Fact]
    public async Task AddPostgresCollection_RegistersOneLoopAsHostedServiceAndRefresher()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(Options.Create(new AgentOptions()));
        services.AddPostgresCollection();
        await using var provider = services.BuildServiceProvider();

        var loop = Assert.IsType<CollectionLoop>(Assert.Single(provider.GetServices<IHostedService>()));

        Assert.Same(loop, provider.GetRequiredService<ISnapshotRefresher>());
        Assert.Same(provider.GetRequiredService<SnapshotBoard>(), provider.GetRequiredService<SnapshotBoard>());
        Assert.NotNull(provider.GetRequiredService<PostgresCollector>());
        Assert.Same(TimeProvider.System, provider.GetRequiredService<TimeProvider>());
    }
}
