using Fleet.Aggregator.Store;
using Fleet.Testing;

namespace Fleet.Aggregator.Tests.Store;

public abstract class AuditStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public async Task InitializeAsync() => temp = await CreateTempAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    private static AuditRecord Record(string cluster, string action, string outcome, DateTimeOffset time, string actor = "aggregator") => new()
    {
        Time = time,
        Actor = actor,
        Action = action,
        Cluster = cluster,
        Node = $"{cluster}-db-1",
        Outcome = outcome,
        Reasons = ["primary silent for 31 s (failover timeout 30 s)", "2 of 2 replicas lost the primary"],
        DetailsJson = """{"candidate":"orders-db-2","lag_bytes":0}""",
    };

    [Fact]
    public async Task AppendAudit_RoundTripsEveryField()
    {
        var record = Record("orders", "failover", "promoted", T0);

        var id = await temp.Store.AppendAuditAsync(record, CancellationToken.None).DefaultTimeout();
        var stored = Assert.Single(await temp.Store.QueryAuditAsync(new AuditQuery(), CancellationToken.None).DefaultTimeout());

        Assert.Equal(1, id);
        Assert.Equal(id, stored.Id);
        Assert.Equal(record.Time, stored.Time);
        Assert.Equal(record.Actor, stored.Actor);
        Assert.Equal(record.Action, stored.Action);
        Assert.Equal(record.Cluster, stored.Cluster);
        Assert.Equal(record.Node, stored.Node);
        Assert.Equal(record.Outcome, stored.Outcome);
        Assert.Equal(record.Reasons, stored.Reasons);
        Assert.Equal(record.DetailsJson, stored.DetailsJson);
    }

    [Fact]
    public async Task AppendAudit_NoReasonsNoDetails_RoundTrips()
    {
        var record = Record("orders", "failover", "refused", T0) with { Reasons = [], DetailsJson = null };
        await temp.Store.AppendAuditAsync(record, CancellationToken.None).DefaultTimeout();
        var stored = Assert.Single(await temp.Store.QueryAuditAsync(new AuditQuery(), CancellationToken.None).DefaultTimeout());
        Assert.Empty(stored.Reasons);
        Assert.Null(stored.DetailsJson);
    }

    [Fact]
    public async Task AppendAudit_InvalidDetailsJson_IsRejected()
    {
        var record = Record("orders", "failover", "refused", T0) with { DetailsJson = "{not json" };
        await Assert.ThrowsAsync<ArgumentException>(() => temp.Store.AppendAuditAsync(record, CancellationToken.None)).DefaultTimeout();
        Assert.Empty(await temp.Store.QueryAuditAsync(new AuditQuery(), CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task QueryAudit_FiltersAndPagesNewestFirst()
    {
        await temp.Store.AppendAuditAsync(Record("orders", "failover", "refused", T0), CancellationToken.None).DefaultTimeout();
        await temp.Store.AppendAuditAsync(Record("billing", "switchover", "promoted", T0.AddMinutes(1), actor: "alice@example.com"), CancellationToken.None).DefaultTimeout();
        await temp.Store.AppendAuditAsync(Record("orders", "failover", "promoted", T0.AddMinutes(2)), CancellationToken.None).DefaultTimeout();

        var orders = await temp.Store.QueryAuditAsync(new AuditQuery { Cluster = "orders" }, CancellationToken.None).DefaultTimeout();
        var alice = await temp.Store.QueryAuditAsync(new AuditQuery { Actor = "alice@example.com" }, CancellationToken.None).DefaultTimeout();
        var switchovers = await temp.Store.QueryAuditAsync(new AuditQuery { Action = "switchover" }, CancellationToken.None).DefaultTimeout();
        var recent = await temp.Store.QueryAuditAsync(new AuditQuery { Since = T0.AddMinutes(1) }, CancellationToken.None).DefaultTimeout();
        var page = await temp.Store.QueryAuditAsync(new AuditQuery { BeforeId = 3, Limit = 1 }, CancellationToken.None).DefaultTimeout();

        Assert.Equal(["promoted", "refused"], orders.Select(r => r.Outcome));
        Assert.Equal("billing", Assert.Single(alice).Cluster);
        Assert.Equal("billing", Assert.Single(switchovers).Cluster);
        Assert.Equal([3L, 2L], recent.Select(r => r.Id));
        Assert.Equal(2L, Assert.Single(page).Id);
    }

    [Fact]
    public async Task Audit_SurvivesRestart()
    {
        await temp.Store.AppendAuditAsync(Record("orders", "failover", "promoted", T0), CancellationToken.None).DefaultTimeout();
        var store = await temp.RestartAsync();
        Assert.Single(await store.QueryAuditAsync(new AuditQuery(), CancellationToken.None).DefaultTimeout());
    }
}

public abstract class SequenceStoreTests : IAsyncLifetime
{
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public async Task InitializeAsync() => temp = await CreateTempAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    [Fact]
    public async Task NextSequenceValue_CountsPerNameAndContinuesAfterRestart()
    {
        Assert.Equal(1, await temp.Store.NextSequenceValueAsync("decision", CancellationToken.None).DefaultTimeout());
        Assert.Equal(2, await temp.Store.NextSequenceValueAsync("decision", CancellationToken.None).DefaultTimeout());
        Assert.Equal(1, await temp.Store.NextSequenceValueAsync("command", CancellationToken.None).DefaultTimeout());

        var store = await temp.RestartAsync();

        Assert.Equal(3, await store.NextSequenceValueAsync("decision", CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task NextSequenceValue_Concurrent_HandsOutEachValueOnce()
    {
        var values = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() =>
            temp.Store.NextSequenceValueAsync("decision", CancellationToken.None)))).DefaultTimeout();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => (long)i), values.Order());
    }
}

public sealed class SqliteAuditStoreTests : AuditStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresAuditStoreTests(PostgresStoreServer server) : AuditStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}

public sealed class SqliteSequenceStoreTests : SequenceStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresSequenceStoreTests(PostgresStoreServer server) : SequenceStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}
