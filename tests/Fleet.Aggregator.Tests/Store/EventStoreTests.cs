using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Fleet.Testing;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Tests.Store;

public abstract class EventStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private TempStore temp = null!;

    /// <summary>A fresh store of the provider under test.</summary>
    internal abstract Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null);

    public async Task InitializeAsync() => temp = await CreateTempAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    internal static Event NewEvent(string cluster, string node, EventKind kind, DateTimeOffset time, string message = "") => new()
    {
        Cluster = cluster,
        Node = node,
        Kind = kind,
        Time = Timestamp.FromDateTimeOffset(time),
        Message = message,
        Actor = "aggregator",
        Reasons = { "reason one", "reason two" },
    };

    private async Task SeedAsync()
    {
        // 12 events: clusters a/b alternate, nodes a-1/a-2/b-1, kinds rotate, one second apart.
        var kinds = new[] { EventKind.NodePresence, EventKind.RoleChanged, EventKind.FailoverDecision };
        var events = new List<Event>();
        for (var i = 0; i < 12; i++)
        {
            var cluster = i % 2 == 0 ? "a" : "b";
            var node = cluster == "a" ? (i % 4 == 0 ? "a-1" : "a-2") : "b-1";
            events.Add(NewEvent(cluster, node, kinds[i % 3], T0.AddSeconds(i), $"event {i}"));
        }

        await temp.Store.AppendEventsAsync(events, CancellationToken.None).DefaultTimeout();
    }

    [Fact]
    public async Task AppendEvents_AssignsIncreasingIds_AndRoundTripsTheMessage()
    {
        var store = temp.Store;
        var first = await store.AppendEventAsync(NewEvent("a", "a-1", EventKind.Command, T0, "first"), CancellationToken.None).DefaultTimeout();
        var batch = await store.AppendEventsAsync(
            [NewEvent("a", "a-1", EventKind.Command, T0, "second"), NewEvent("b", "b-1", EventKind.Alert, T0, "third")],
            CancellationToken.None).DefaultTimeout();

        Assert.Equal(1UL, first);
        Assert.Equal([2UL, 3UL], batch);
        Assert.Equal(3UL, await store.GetLastEventIdAsync(CancellationToken.None).DefaultTimeout());

        var all = await store.QueryEventsAsync(new EventQuery(), CancellationToken.None).DefaultTimeout();
        Assert.Equal(["third", "second", "first"], all.Select(e => e.Message));
        var expected = NewEvent("b", "b-1", EventKind.Alert, T0, "third");
        expected.Id = 3;
        Assert.Equal(expected, all[0]);
    }

    [Fact]
    public async Task AppendEvent_DoesNotModifyTheArgument_AndFillsAMissingTime()
    {
        temp.Time = new ManualTimeProvider(T0);
        var store = await temp.RestartAsync();
        var fleetEvent = new Event { Cluster = "a", Kind = EventKind.Leadership };

        var id = await store.AppendEventAsync(fleetEvent, CancellationToken.None).DefaultTimeout();

        Assert.Equal(0UL, fleetEvent.Id);
        Assert.Null(fleetEvent.Time);
        var stored = Assert.Single(await store.QueryEventsAsync(new EventQuery(), CancellationToken.None).DefaultTimeout());
        Assert.Equal(id, stored.Id);
        Assert.Equal(T0, stored.Time.ToDateTimeOffset());
    }

    [Fact]
    public async Task QueryEvents_ByCluster_ReturnsOnlyThatCluster()
    {
        await SeedAsync();
        var result = await temp.Store.QueryEventsAsync(new EventQuery { Cluster = "b" }, CancellationToken.None).DefaultTimeout();
        Assert.Equal(6, result.Count);
        Assert.All(result, e => Assert.Equal("b", e.Cluster));
    }

    [Fact]
    public async Task QueryEvents_ByNode_ReturnsOnlyThatNode()
    {
        await SeedAsync();
        var result = await temp.Store.QueryEventsAsync(new EventQuery { Node = "a-1" }, CancellationToken.None).DefaultTimeout();
        Assert.Equal(["event 8", "event 4", "event 0"], result.Select(e => e.Message));
    }

    [Fact]
    public async Task QueryEvents_ByKinds_ReturnsOnlyThoseKinds()
    {
        await SeedAsync();
        var one = await temp.Store.QueryEventsAsync(new EventQuery { Kinds = [EventKind.FailoverDecision] }, CancellationToken.None).DefaultTimeout();
        var two = await temp.Store.QueryEventsAsync(new EventQuery { Kinds = [EventKind.FailoverDecision, EventKind.NodePresence] }, CancellationToken.None).DefaultTimeout();
        var unspecified = await temp.Store.QueryEventsAsync(new EventQuery { Kinds = [EventKind.Unspecified] }, CancellationToken.None).DefaultTimeout();

        Assert.Equal(4, one.Count);
        Assert.All(one, e => Assert.Equal(EventKind.FailoverDecision, e.Kind));
        Assert.Equal(8, two.Count);
        Assert.DoesNotContain(two, e => e.Kind == EventKind.RoleChanged);
        Assert.Equal(12, unspecified.Count);
    }

    [Fact]
    public async Task QueryEvents_Since_IsInclusive()
    {
        await SeedAsync();
        var result = await temp.Store.QueryEventsAsync(new EventQuery { Since = T0.AddSeconds(9) }, CancellationToken.None).DefaultTimeout();
        Assert.Equal(["event 11", "event 10", "event 9"], result.Select(e => e.Message));
    }

    [Fact]
    public async Task QueryEvents_CombinedFilters_MatchEveryFilter()
    {
        await SeedAsync();
        var result = await temp.Store.QueryEventsAsync(
            new EventQuery { Cluster = "a", Kinds = [EventKind.NodePresence], Since = T0.AddSeconds(1) },
            CancellationToken.None).DefaultTimeout();
        Assert.Equal(["event 6"], result.Select(e => e.Message));
    }

    [Fact]
    public async Task QueryEvents_PagingWithBeforeId_WalksEveryEventOnceNewestFirst()
    {
        await SeedAsync();
        var seen = new List<ulong>();
        ulong? before = null;
        while (true)
        {
            var page = await temp.Store.QueryEventsAsync(new EventQuery { Limit = 5, BeforeId = before }, CancellationToken.None).DefaultTimeout();
            if (page.Count == 0)
            {
                break;
            }

            Assert.True(page.Count <= 5);
            seen.AddRange(page.Select(e => e.Id));
            before = page[^1].Id;
        }

        Assert.Equal(Enumerable.Range(1, 12).Reverse().Select(i => (ulong)i), seen);
    }

    [Fact]
    public async Task QueryEvents_Limit_IsCappedAtOneThousandAndMustBePositive()
    {
        var batch = Enumerable.Range(0, 1100).Select(i => NewEvent("a", "a-1", EventKind.Command, T0.AddMilliseconds(i))).ToList();
        await temp.Store.AppendEventsAsync(batch, CancellationToken.None).DefaultTimeout();

        var result = await temp.Store.QueryEventsAsync(new EventQuery { Limit = 5000 }, CancellationToken.None).DefaultTimeout();

        Assert.Equal(StoreLimits.MaxPageSize, result.Count);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => temp.Store.QueryEventsAsync(new EventQuery { Limit = 0 }, CancellationToken.None)).DefaultTimeout();
    }

    [Fact]
    public async Task GetEventsAfter_ReturnsLaterEventsOldestFirst()
    {
        await SeedAsync();
        var result = await temp.Store.GetEventsAfterAsync(9, 10, CancellationToken.None).DefaultTimeout();
        Assert.Equal([10UL, 11UL, 12UL], result.Select(e => e.Id));
        Assert.Equal([10UL, 11UL], (await temp.Store.GetEventsAfterAsync(9, 2, CancellationToken.None).DefaultTimeout()).Select(e => e.Id));
        Assert.Empty(await temp.Store.GetEventsAfterAsync(12, 10, CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task Events_SurviveRestart_AndIdsContinue()
    {
        await SeedAsync();
        var store = await temp.RestartAsync();

        var result = await store.QueryEventsAsync(new EventQuery { Limit = 100 }, CancellationToken.None).DefaultTimeout();
        var next = await store.AppendEventAsync(NewEvent("a", "a-1", EventKind.Command, T0), CancellationToken.None).DefaultTimeout();

        Assert.Equal(12, result.Count);
        Assert.Equal("event 11", result[0].Message);
        Assert.Equal(13UL, next);
    }

    [Fact]
    public async Task AppendEvents_ConcurrentBatches_AllStoredWithUniqueIds()
    {
        var tasks = Enumerable.Range(0, 16).Select(t => temp.Store.AppendEventsAsync(
            Enumerable.Range(0, 50).Select(i => NewEvent($"c{t}", "n", EventKind.Command, T0.AddMilliseconds(i))).ToList(),
            CancellationToken.None)).ToList();
        var ids = (await Task.WhenAll(tasks).DefaultTimeout()).SelectMany(x => x).ToList();

        Assert.Equal(800, ids.Distinct().Count());
        Assert.Equal(800UL, ids.Max());
        foreach (var batch in tasks)
        {
            // A batch is one transaction: its IDs are consecutive.
            var batchIds = await batch;
            Assert.Equal(batchIds[0] + 49, batchIds[^1]);
        }
    }
}

public sealed class SqliteEventStoreTests : EventStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await SqliteTempStore.CreateAsync(configure);
}

[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresEventStoreTests(PostgresStoreServer server) : EventStoreTests
{
    internal override async Task<TempStore> CreateTempAsync(Action<StoreOptions>? configure = null) => await PostgresTempStore.CreateAsync(server, configure);
}
