using Fleet.Aggregator.Store;
using Fleet.Testing;

namespace Fleet.Aggregator.Tests.Store;

public abstract class EpochStoreTests : IAsyncLifetime
{
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public async Task InitializeAsync() => temp = await CreateTempAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    [Fact]
    public async Task GetEpoch_UnknownCluster_IsZero()
    {
        Assert.Equal(0UL, await temp.Store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
        Assert.Empty(await temp.Store.ListEpochsAsync(CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task TryAdvanceEpoch_ExpectedMatches_Succeeds()
    {
        var first = await temp.Store.TryAdvanceEpochAsync("orders", 0, 1, CancellationToken.None).DefaultTimeout();
        var second = await temp.Store.TryAdvanceEpochAsync("orders", 1, 5, CancellationToken.None).DefaultTimeout();

        Assert.Equal(new(true, 1), first);
        Assert.Equal(new(true, 5), second);
        Assert.Equal(5UL, await temp.Store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
        Assert.Equal(0UL, await temp.Store.GetEpochAsync("billing", CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task TryAdvanceEpoch_StaleExpected_FailsAndReportsCurrent()
    {
        await temp.Store.TryAdvanceEpochAsync("orders", 0, 3, CancellationToken.None).DefaultTimeout();

        var stale = await temp.Store.TryAdvanceEpochAsync("orders", 2, 4, CancellationToken.None).DefaultTimeout();
        var fromZero = await temp.Store.TryAdvanceEpochAsync("orders", 0, 1, CancellationToken.None).DefaultTimeout();

        Assert.Equal(new(false, 3), stale);
        Assert.Equal(new(false, 3), fromZero);
        Assert.Equal(3UL, await temp.Store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
    }

    [Theory]
    [InlineData(3UL, 3UL)]
    [InlineData(3UL, 2UL)]
    public async Task TryAdvanceEpoch_NewNotGreater_Throws(ulong expected, ulong next)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => temp.Store.TryAdvanceEpochAsync("orders", expected, next, CancellationToken.None)).DefaultTimeout();
    }

    [Fact]
    public async Task TryAdvanceEpoch_ConcurrentCallers_ExactlyOneWinsEachStep()
    {
        const int Tasks = 24;
        const int Steps = 20;
        for (ulong step = 0; step < Steps; step++)
        {
            using var gate = new ManualResetEventSlim(false);
            var current = step;
            var attempts = Enumerable.Range(0, Tasks).Select(_ => Task.Run(async () =>
            {
                gate.Wait();
                return await temp.Store.TryAdvanceEpochAsync("orders", current, current + 1, CancellationToken.None);
            })).ToList();
            gate.Set();
            var results = await Task.WhenAll(attempts).DefaultTimeout();

            Assert.Single(results, r => r.Succeeded);
            Assert.All(results, r => Assert.Equal(current + 1, r.CurrentEpoch));
        }

        Assert.Equal((ulong)Steps, await temp.Store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task TryAdvanceEpoch_TwoStoreInstancesOnOneFile_ExactlyOneWins()
    {
        // Two processes (here: two store instances with their own connections) racing on one file.
        var stores = new[] { temp.Store, await temp.OpenAsync() };
        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            stores[i % 2].TryAdvanceEpochAsync("orders", 0, 1, CancellationToken.None)))).DefaultTimeout();

        Assert.Single(results, r => r.Succeeded);
    }

    [Fact]
    public async Task Epochs_SurviveRestart()
    {
        await temp.Store.TryAdvanceEpochAsync("orders", 0, 7, CancellationToken.None).DefaultTimeout();
        await temp.Store.TryAdvanceEpochAsync("billing", 0, 2, CancellationToken.None).DefaultTimeout();

        var store = await temp.RestartAsync();

        Assert.Equal(7UL, await store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
        var all = await store.ListEpochsAsync(CancellationToken.None).DefaultTimeout();
        Assert.Equal(new Dictionary<string, ulong> { ["billing"] = 2, ["orders"] = 7 }, all);
    }
}

public sealed class SqliteEpochStoreTests : EpochStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresEpochStoreTests(PostgresStoreServer server) : EpochStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}
