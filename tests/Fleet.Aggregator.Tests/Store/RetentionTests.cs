using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Fleet.Testing;
using static Fleet.Aggregator.Tests.Store.AlertStoreTests;
using static Fleet.Aggregator.Tests.Store.EventStoreTests;

namespace Fleet.Aggregator.Tests.Store;

public abstract class RetentionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public async Task InitializeAsync() => temp = await CreateTempAsync(o => o.Retention = TimeSpan.FromDays(30));

    public async Task DisposeAsync() => await temp.DisposeAsync();

    [Fact]
    public async Task Prune_RemovesOnlyEventsOlderThanRetention()
    {
        var store = temp.Store;
        await store.AppendEventsAsync(
        [
            NewEvent("a", "n", EventKind.Command, Now.AddDays(-40), "old"),
            NewEvent("a", "n", EventKind.Command, Now.AddDays(-30).AddMilliseconds(-1), "just too old"),
            NewEvent("a", "n", EventKind.Command, Now.AddDays(-30), "at the cutoff"),
            NewEvent("a", "n", EventKind.Command, Now.AddDays(-1), "recent"),
        ], CancellationToken.None).DefaultTimeout();

        var result = await store.PruneAsync(Now, CancellationToken.None).DefaultTimeout();
        var left = await store.QueryEventsAsync(new EventQuery(), CancellationToken.None).DefaultTimeout();

        Assert.Equal(2, result.EventsDeleted);
        Assert.Equal(["recent", "at the cutoff"], left.Select(e => e.Message));
        Assert.Equal(0, (await store.PruneAsync(Now, CancellationToken.None).DefaultTimeout()).Total);
    }

    [Fact]
    public async Task Prune_BeyondMaxEvents_KeepsTheNewest_AndIdsAreNeverReused()
    {
        temp.Options.MaxEvents = 1000;
        var store = await temp.RestartAsync();
        var batch = Enumerable.Range(0, 4500).Select(i => NewEvent("a", "n", EventKind.Command, Now.AddSeconds(-i))).ToList();
        await store.AppendEventsAsync(batch, CancellationToken.None).DefaultTimeout();

        var result = await store.PruneAsync(Now, CancellationToken.None).DefaultTimeout();
        var left = await store.GetEventsAfterAsync(0, 1000, CancellationToken.None).DefaultTimeout();

        Assert.Equal(3500, result.EventsDeleted);
        Assert.Equal(1000, left.Count);
        Assert.Equal(3501UL, left[0].Id);
        Assert.Equal(4500UL, left[^1].Id);

        // Prune everything: the next ID still continues after the highest ever assigned.
        await store.PruneAsync(Now.AddDays(365), CancellationToken.None).DefaultTimeout();
        Assert.Empty(await store.GetEventsAfterAsync(0, 10, CancellationToken.None).DefaultTimeout());
        Assert.Equal(4500UL, await store.GetLastEventIdAsync(CancellationToken.None).DefaultTimeout());
        Assert.Equal(4501UL, await store.AppendEventAsync(NewEvent("a", "n", EventKind.Command, Now), CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task Prune_RemovesOldResolvedAlertsAndTheirHistory_KeepsActiveOnes()
    {
        var store = temp.Store;
        // Resolved 40 days ago: current row and history go.
        var oldAlert = Pending("orders", "orders-db-1", "cpu", Now.AddDays(-45));
        await store.UpsertAlertAsync(oldAlert, CancellationToken.None).DefaultTimeout();
        await store.UpsertAlertAsync(Resolved(oldAlert, Now.AddDays(-40)), CancellationToken.None).DefaultTimeout();
        // Firing for 60 days: old history, but active, so kept.
        var longFiring = Pending("orders", "orders-db-2", "disk", Now.AddDays(-61));
        await store.UpsertAlertAsync(longFiring, CancellationToken.None).DefaultTimeout();
        await store.UpsertAlertAsync(Firing(longFiring, Now.AddDays(-60)), CancellationToken.None).DefaultTimeout();
        // Resolved yesterday: kept.
        var recent = Pending("billing", "billing-db-1", "cpu", Now.AddDays(-2));
        await store.UpsertAlertAsync(recent, CancellationToken.None).DefaultTimeout();
        await store.UpsertAlertAsync(Resolved(recent, Now.AddDays(-1)), CancellationToken.None).DefaultTimeout();

        var result = await store.PruneAsync(Now, CancellationToken.None).DefaultTimeout();
        var history = await store.QueryAlertHistoryAsync(new AlertHistoryQuery(), CancellationToken.None).DefaultTimeout();

        Assert.Equal(new PruneResult(0, 2, 1), result);
        Assert.DoesNotContain(history, h => h.Alert.Id == oldAlert.Id);
        Assert.Equal(2, history.Count(h => h.Alert.Id == longFiring.Id));
        Assert.Equal(2, history.Count(h => h.Alert.Id == recent.Id));
        Assert.Single(await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout());

        // The pruned alert can come back as new.
        Assert.Equal(AlertUpsertResult.Inserted, await store.UpsertAlertAsync(Pending("orders", "orders-db-1", "cpu", Now), CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task Prune_BeyondMaxAlertHistory_KeepsTheNewestEntries()
    {
        temp.Options.MaxAlertHistory = 3;
        var store = await temp.RestartAsync();
        for (var i = 0; i < 5; i++)
        {
            await store.UpsertAlertAsync(Pending("orders", $"n{i}", "cpu", Now.AddMinutes(-i)), CancellationToken.None).DefaultTimeout();
        }

        var result = await store.PruneAsync(Now, CancellationToken.None).DefaultTimeout();
        var history = await store.QueryAlertHistoryAsync(new AlertHistoryQuery(), CancellationToken.None).DefaultTimeout();

        Assert.Equal(2, result.AlertHistoryDeleted);
        Assert.Equal(["n4", "n3", "n2"], history.Select(h => h.Alert.Node));
        Assert.Equal(5, (await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout()).Count);
    }

    [Fact]
    public async Task Prune_NeverTouchesEpochsAuditOrSequences()
    {
        var store = temp.Store;
        await store.TryAdvanceEpochAsync("orders", 0, 4, CancellationToken.None).DefaultTimeout();
        await store.AppendAuditAsync(new AuditRecord { Time = Now.AddDays(-400), Actor = "aggregator", Action = "failover", Outcome = "refused" }, CancellationToken.None).DefaultTimeout();
        await store.NextSequenceValueAsync("decision", CancellationToken.None).DefaultTimeout();

        await store.PruneAsync(Now, CancellationToken.None).DefaultTimeout();

        Assert.Equal(4UL, await store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
        Assert.Single(await store.QueryAuditAsync(new AuditQuery(), CancellationToken.None).DefaultTimeout());
        Assert.Equal(2, await store.NextSequenceValueAsync("decision", CancellationToken.None).DefaultTimeout());
    }
}

public sealed class SqliteRetentionTests : RetentionTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresRetentionTests(PostgresStoreServer server) : RetentionTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}
