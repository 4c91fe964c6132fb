using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Fleet.Testing;
using static Fleet.Aggregator.Tests.Store.AlertStoreTests;
using static Fleet.Aggregator.Tests.Store.EventStoreTests;

namespace Fleet.Aggregator.Tests.Store;

/// <summary>Hostile values are data, never SQL: every filter and stored value is a bound parameter.</summary>
public abstract class SqlInjectionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public static TheoryData<string> HostileValues => new()
    {
        "x' OR '1'='1",
        "x\" OR \"1\"=\"1",
        "'; DROP TABLE events; --",
        "x'); DELETE FROM epochs; --",
        "$cluster",
        "%",
    };

    public async Task InitializeAsync()
    {
        temp = await CreateTempAsync();
        await temp.Store.AppendEventsAsync([NewEvent("orders", "orders-db-1", EventKind.Command, T0), NewEvent("billing", "billing-db-1", EventKind.Command, T0)], CancellationToken.None).DefaultTimeout();
        await temp.Store.UpsertAlertAsync(Pending("orders", "orders-db-1", "cpu", T0), CancellationToken.None).DefaultTimeout();
        await temp.Store.TryAdvanceEpochAsync("orders", 0, 3, CancellationToken.None).DefaultTimeout();
        await temp.Store.AppendAuditAsync(new AuditRecord { Time = T0, Actor = "aggregator", Action = "failover", Cluster = "orders", Outcome = "refused" }, CancellationToken.None).DefaultTimeout();
    }

    public async Task DisposeAsync() => await temp.DisposeAsync();

    [Theory]
    [MemberData(nameof(HostileValues))]
    public async Task HostileFilterValues_MatchNothing_AndChangeNothing(string hostile)
    {
        var store = temp.Store;

        Assert.Empty(await store.QueryEventsAsync(new EventQuery { Cluster = hostile }, CancellationToken.None).DefaultTimeout());
        Assert.Empty(await store.QueryEventsAsync(new EventQuery { Node = hostile }, CancellationToken.None).DefaultTimeout());
        Assert.Empty(await store.ListActiveAlertsAsync(hostile, CancellationToken.None).DefaultTimeout());
        Assert.Empty(await store.QueryAlertHistoryAsync(new AlertHistoryQuery { Cluster = hostile }, CancellationToken.None).DefaultTimeout());
        Assert.Empty(await store.QueryAuditAsync(new AuditQuery { Cluster = hostile, Actor = hostile, Action = hostile }, CancellationToken.None).DefaultTimeout());
        Assert.Equal(0UL, await store.GetEpochAsync(hostile, CancellationToken.None).DefaultTimeout());

        // Everything is still there.
        Assert.Equal(2, (await store.QueryEventsAsync(new EventQuery(), CancellationToken.None).DefaultTimeout()).Count);
        Assert.Single(await store.ListActiveAlertsAsync(null, CancellationToken.None).DefaultTimeout());
        Assert.Equal(3UL, await store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
        Assert.Single(await store.QueryAuditAsync(new AuditQuery(), CancellationToken.None).DefaultTimeout());
    }

    [Theory]
    [MemberData(nameof(HostileValues))]
    public async Task HostileStoredValues_RoundTripExactly(string hostile)
    {
        var store = temp.Store;
        var id = await store.AppendEventAsync(NewEvent(hostile, hostile, EventKind.OperatorRequest, T0, hostile), CancellationToken.None).DefaultTimeout();
        await store.UpsertAlertAsync(Pending(hostile, hostile, hostile, T0), CancellationToken.None).DefaultTimeout();
        var advanced = await store.TryAdvanceEpochAsync(hostile, 0, 9, CancellationToken.None).DefaultTimeout();
        await store.AppendAuditAsync(new AuditRecord { Time = T0, Actor = hostile, Action = hostile, Cluster = hostile, Outcome = hostile, Reasons = [hostile] }, CancellationToken.None).DefaultTimeout();

        var fleetEvent = Assert.Single(await store.QueryEventsAsync(new EventQuery { Cluster = hostile }, CancellationToken.None).DefaultTimeout());
        Assert.Equal(id, fleetEvent.Id);
        Assert.Equal(hostile, fleetEvent.Message);
        Assert.Equal(hostile, Assert.Single(await store.ListActiveAlertsAsync(hostile, CancellationToken.None).DefaultTimeout()).Cluster);
        Assert.True(advanced.Succeeded);
        Assert.Equal(9UL, await store.GetEpochAsync(hostile, CancellationToken.None).DefaultTimeout());
        Assert.Equal([hostile], Assert.Single(await store.QueryAuditAsync(new AuditQuery { Cluster = hostile }, CancellationToken.None).DefaultTimeout()).Reasons);
        Assert.Equal(3UL, await store.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
        Assert.Equal(3, (await store.QueryEventsAsync(new EventQuery(), CancellationToken.None).DefaultTimeout()).Count);
    }
}

public sealed class SqliteSqlInjectionTests : SqlInjectionTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresSqlInjectionTests(PostgresStoreServer server) : SqlInjectionTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}
