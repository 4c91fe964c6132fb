using Fleet.Aggregator.Store;
using Fleet.Testing;

namespace Fleet.Aggregator.Tests.Store;

/// <summary>The published primary and the pending promotion survive a restart: what the failover controller resumes from.</summary>
public abstract class PrimaryStoreTests : IAsyncLifetime
{
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public async Task InitializeAsync() => temp = await CreateTempAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    [Fact]
    public async Task ListPrimaries_Empty_ForANewStore()
    {
        Assert.Empty(await temp.Store.ListPrimariesAsync(CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task SavePrimary_PendingThenCompleted_LastWriteWins_AndSurvivesRestart()
    {
        await temp.Store.SavePrimaryAsync(new ClusterPrimary("orders", "node0", 0, null, 0), CancellationToken.None).DefaultTimeout();
        await temp.Store.SavePrimaryAsync(new ClusterPrimary("orders", "node0", 3, "node2", 3), CancellationToken.None).DefaultTimeout();
        await temp.Store.SavePrimaryAsync(new ClusterPrimary("billing", "b1", 1, null, 0) { FormerPrimary = "b0" }, CancellationToken.None).DefaultTimeout();

        var store = await temp.RestartAsync().DefaultTimeout();
        var saved = await store.ListPrimariesAsync(CancellationToken.None).DefaultTimeout();

        Assert.Equal(2, saved.Count);
        var billing = saved[0];
        Assert.Equal(("billing", "b1", 1UL, (string?)null, "b0"), (billing.Cluster, billing.Primary, billing.Epoch, billing.PendingCandidate, billing.FormerPrimary));
        var orders = saved[1];
        Assert.Equal(("orders", "node0", 3UL, "node2", 3UL, (string?)null), (orders.Cluster, orders.Primary, orders.Epoch, orders.PendingCandidate, orders.PendingEpoch, orders.FormerPrimary));
        Assert.True(orders.UpdatedAt > DateTimeOffset.UnixEpoch);

        await store.SavePrimaryAsync(new ClusterPrimary("orders", "node2", 3, null, 0) { FormerPrimary = "node0" }, CancellationToken.None).DefaultTimeout();
        var completed = (await store.ListPrimariesAsync(CancellationToken.None).DefaultTimeout()).Single(p => p.Cluster == "orders");
        Assert.Equal(("node2", (string?)null, 0UL, "node0"), (completed.Primary, completed.PendingCandidate, completed.PendingEpoch, completed.FormerPrimary));
    }

    [Fact]
    public async Task SavePrimary_NamesAreParameters_NotSql()
    {
        const string Hostile = "x'); DROP TABLE cluster_primaries; --";
        await temp.Store.SavePrimaryAsync(new ClusterPrimary(Hostile, Hostile, 1, Hostile, 1), CancellationToken.None).DefaultTimeout();

        var saved = Assert.Single(await temp.Store.ListPrimariesAsync(CancellationToken.None).DefaultTimeout());
        Assert.Equal((Hostile, Hostile, Hostile), (saved.Cluster, saved.Primary, saved.PendingCandidate));
    }
}

public sealed class SqlitePrimaryStoreTests : PrimaryStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresPrimaryStoreTests(PostgresStoreServer server) : PrimaryStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}
