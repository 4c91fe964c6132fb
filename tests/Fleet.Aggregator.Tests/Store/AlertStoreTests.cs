using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Fleet.Testing;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Tests.Store;

public abstract class AlertStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public async Task InitializeAsync() => temp = await CreateTempAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    internal static Alert Pending(string cluster, string node, string rule, DateTimeOffset since, Severity severity = Severity.Warning) => new()
    {
        Id = $"{rule}/{cluster}/{node}",
        Rule = rule,
        Severity = severity,
        State = AlertState.Pending,
        Cluster = cluster,
        Node = node,
        Value = 7,
        Threshold = 5,
        Unit = "seconds",
        ForDuration = Duration.FromTimeSpan(TimeSpan.FromMinutes(2)),
        Message = "replication lag above 5 s",
        PendingSince = Timestamp.FromDateTimeOffset(since),
    };

    internal static Alert Firing(Alert pending, DateTimeOffset at)
    {
        var alert = pending.Clone();
        alert.State = AlertState.Firing;
        alert.FiringSince = Timestamp.FromDateTimeOffset(at);
        return alert;
    }

    internal static Alert Resolved(Alert active, DateTimeOffset at)
    {
        var alert = active.Clone();
        alert.State = AlertState.Resolved;
        alert.ResolvedAt = Timestamp.FromDateTimeOffset(at);
        return alert;
    }

    [Fact]
    public async Task UpsertAlert_PendingFiringResolved_RecordsEachTransition()
    {
        var store = temp.Store;
        var pending = Pending("orders", "orders-db-2", "replication_lag_warning", T0);
        var firing = Firing(pending, T0.AddMinutes(2));
        var resolved = Resolved(firing, T0.AddMinutes(5));

        Assert.Equal(AlertUpsertResult.Inserted, await store.UpsertAlertAsync(pending, CancellationToken.None).DefaultTimeout());
        Assert.Equal([pending], await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout());

        Assert.Equal(AlertUpsertResult.StateChanged, await store.UpsertAlertAsync(firing, CancellationToken.None).DefaultTimeout());
        Assert.Equal([firing], await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout());

        Assert.Equal(AlertUpsertResult.StateChanged, await store.UpsertAlertAsync(resolved, CancellationToken.None).DefaultTimeout());
        Assert.Empty(await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout());

        var history = await store.QueryAlertHistoryAsync(new AlertHistoryQuery(), CancellationToken.None).DefaultTimeout();
        Assert.Equal([AlertState.Resolved, AlertState.Firing, AlertState.Pending], history.Select(h => h.Alert.State));
        Assert.Equal([T0.AddMinutes(5), T0.AddMinutes(2), T0], history.Select(h => h.Time));
        Assert.Equal(resolved, history[0].Alert);
    }

    [Fact]
    public async Task UpsertAlert_SameState_UpdatesWithoutHistoryAndSkipsIdenticalWrites()
    {
        var store = temp.Store;
        var pending = Pending("orders", "orders-db-2", "replication_lag_warning", T0);
        await store.UpsertAlertAsync(pending, CancellationToken.None).DefaultTimeout();

        var same = pending.Clone();
        var newer = pending.Clone();
        newer.Value = 9;

        Assert.Equal(AlertUpsertResult.Unchanged, await store.UpsertAlertAsync(same, CancellationToken.None).DefaultTimeout());
        Assert.Equal(AlertUpsertResult.Updated, await store.UpsertAlertAsync(newer, CancellationToken.None).DefaultTimeout());
        Assert.Equal(9, Assert.Single(await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout()).Value);
        Assert.Single(await store.QueryAlertHistoryAsync(new AlertHistoryQuery(), CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task UpsertAlert_UnspecifiedStateOrMissingId_IsRejected()
    {
        var alert = Pending("orders", "n", "r", T0);
        alert.State = AlertState.Unspecified;
        await Assert.ThrowsAsync<ArgumentException>(() => temp.Store.UpsertAlertAsync(alert, CancellationToken.None)).DefaultTimeout();

        var noId = Pending("orders", "n", "r", T0);
        noId.Id = string.Empty;
        await Assert.ThrowsAsync<ArgumentException>(() => temp.Store.UpsertAlertAsync(noId, CancellationToken.None)).DefaultTimeout();
    }

    [Fact]
    public async Task ListActiveAlerts_MostSevereFirstThenOldest_FilteredByCluster()
    {
        var store = temp.Store;
        var warningOld = Pending("orders", "orders-db-1", "cpu", T0);
        var warningNew = Pending("orders", "orders-db-2", "cpu", T0.AddMinutes(1));
        var critical = Firing(Pending("orders", "orders-db-2", "replication_lag_critical", T0.AddMinutes(3), Severity.Critical), T0.AddMinutes(4));
        var otherCluster = Pending("billing", "billing-db-1", "cpu", T0);
        var resolved = Resolved(Pending("orders", "orders-db-3", "disk", T0), T0.AddMinutes(1));
        foreach (var alert in new[] { warningNew, otherCluster, critical, resolved, warningOld })
        {
            await store.UpsertAlertAsync(alert, CancellationToken.None).DefaultTimeout();
        }

        var orders = await store.ListActiveAlertsAsync("orders", CancellationToken.None).DefaultTimeout();
        var all = await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout();

        Assert.Equal([critical.Id, warningOld.Id, warningNew.Id], orders.Select(a => a.Id));
        Assert.Equal(4, all.Count);
    }

    [Fact]
    public async Task QueryAlertHistory_FiltersByClusterStateSinceAndLimit()
    {
        var store = temp.Store;
        var a = Pending("orders", "orders-db-1", "cpu", T0);
        var b = Pending("billing", "billing-db-1", "cpu", T0.AddMinutes(1));
        await store.UpsertAlertAsync(a, CancellationToken.None).DefaultTimeout();
        await store.UpsertAlertAsync(b, CancellationToken.None).DefaultTimeout();
        await store.UpsertAlertAsync(Firing(a, T0.AddMinutes(2)), CancellationToken.None).DefaultTimeout();
        await store.UpsertAlertAsync(Resolved(Firing(a, T0.AddMinutes(2)), T0.AddMinutes(3)), CancellationToken.None).DefaultTimeout();

        var orders = await store.QueryAlertHistoryAsync(new AlertHistoryQuery { Cluster = "orders" }, CancellationToken.None).DefaultTimeout();
        var pendings = await store.QueryAlertHistoryAsync(new AlertHistoryQuery { State = AlertState.Pending }, CancellationToken.None).DefaultTimeout();
        var recent = await store.QueryAlertHistoryAsync(new AlertHistoryQuery { Since = T0.AddMinutes(2) }, CancellationToken.None).DefaultTimeout();
        var limited = await store.QueryAlertHistoryAsync(new AlertHistoryQuery { Limit = 1 }, CancellationToken.None).DefaultTimeout();

        Assert.Equal([AlertState.Resolved, AlertState.Firing, AlertState.Pending], orders.Select(h => h.Alert.State));
        Assert.Equal(["billing", "orders"], pendings.Select(h => h.Alert.Cluster));
        Assert.Equal([AlertState.Resolved, AlertState.Firing], recent.Select(h => h.Alert.State));
        Assert.Equal(AlertState.Resolved, Assert.Single(limited).Alert.State);
        Assert.True(orders[0].Sequence > orders[1].Sequence);
    }

    [Fact]
    public async Task Alerts_SurviveRestart()
    {
        var pending = Pending("orders", "orders-db-2", "replication_lag_warning", T0);
        await temp.Store.UpsertAlertAsync(pending, CancellationToken.None).DefaultTimeout();

        var store = await temp.RestartAsync();

        Assert.Equal([pending], await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout());
        Assert.Equal(AlertUpsertResult.Unchanged, await store.UpsertAlertAsync(pending, CancellationToken.None).DefaultTimeout());
    }
}

public sealed class SqliteAlertStoreTests : AlertStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresAlertStoreTests(PostgresStoreServer server) : AlertStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}
