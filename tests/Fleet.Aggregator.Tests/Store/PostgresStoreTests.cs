using Fleet.Aggregator.Store;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Fleet.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using static Fleet.Aggregator.Tests.Store.EventStoreTests;

namespace Fleet.Aggregator.Tests.Store;

/// <summary>What only the PostgreSQL store has: a schema several aggregators open at once, and a server that may be away.</summary>
[Collection(PostgresStoreCollection.Name)]
public sealed class PostgresStoreTests(PostgresStoreServer server)
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task ThreeAggregatorsStartingTogether_MigrateOnce_AndShareOneHistory()
    {
        var options = new StoreOptions { Provider = StoreProvider.Postgres };
        options.Postgres.ConnectionString = server.ConnectionString;
        options.Postgres.Schema = "t_" + Guid.NewGuid().ToString("N");
        var stores = Enumerable.Range(0, 3).Select(_ => NewStore(options)).ToArray();
        try
        {
            await Task.WhenAll(stores.Select(s => s.InitializeAsync(CancellationToken.None))).DefaultTimeout();
            Assert.All(stores, s => Assert.Equal(PostgresSchemaMigrations.LatestVersion, s.SchemaVersion));
            await using (var connection = await server.OpenAsync())
            {
                await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{options.Postgres.Schema}\".schema_version", connection);
                Assert.Equal((long)PostgresSchemaMigrations.All.Count, (long)(await count.ExecuteScalarAsync())!);
            }

            // Written through one, read through another; IDs and sequences are the region's, not each aggregator's.
            var first = await ((IFleetStore)stores[0]).AppendEventAsync(NewEvent("orders", "orders-db-1", EventKind.FailoverDecision, T0, "from the leader"), CancellationToken.None);
            var second = await ((IFleetStore)stores[1]).AppendEventAsync(NewEvent("orders", "orders-db-2", EventKind.AgentRejected, T0, "from a follower"), CancellationToken.None);
            Assert.True(second > first);
            var seen = await stores[2].GetEventsAfterAsync(0, 10, CancellationToken.None);
            Assert.Equal(["from the leader", "from a follower"], seen.Select(e => e.Message));
            var blocks = new List<long>();
            foreach (var store in stores)
            {
                blocks.Add(await store.NextSequenceValueAsync("block", CancellationToken.None));
            }

            Assert.Equal([1L, 2L, 3L], blocks);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }

            await server.DropSchemaAsync(options.Postgres.Schema);
        }
    }

    [Fact]
    public async Task ConcurrentAppendsFromTwoAggregators_BecomeVisibleInIdOrder()
    {
        await using var temp = await PostgresTempStore.CreateAsync(server);
        var a = temp.Store;
        var b = await temp.OpenAsync();
        var writers = new[] { a, b }.Select((store, w) => Task.Run(async () =>
        {
            for (var i = 0; i < 40; i++)
            {
                await store.AppendEventsAsync([NewEvent("c", $"w{w}", EventKind.Command, T0), NewEvent("c", $"w{w}", EventKind.Command, T0)], CancellationToken.None);
            }
        })).ToArray();

        // A tail that only ever asks for IDs above the highest it has seen must still see every event.
        var seen = new List<ulong>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (seen.Count < 160 && DateTime.UtcNow < deadline)
        {
            var next = await a.GetEventsAfterAsync(seen.Count == 0 ? 0 : seen[^1], 1000, CancellationToken.None);
            seen.AddRange(next.Select(e => e.Id));
        }

        await Task.WhenAll(writers).DefaultTimeout();
        seen.AddRange((await a.GetEventsAfterAsync(seen.Count == 0 ? 0 : seen[^1], 1000, CancellationToken.None)).Select(e => e.Id));
        Assert.Equal(160, seen.Count);
        Assert.Equal(Enumerable.Range(1, 160).Select(i => (ulong)i), seen);
    }

    [Fact]
    public async Task SchemaNewerThanThisBuild_IsRefused()
    {
        await using var temp = await PostgresTempStore.CreateAsync(server);
        await using (var connection = await server.OpenAsync())
        {
            await using var bump = new NpgsqlCommand($"INSERT INTO \"{temp.Options.Postgres.Schema}\".schema_version VALUES (999, 'from the future', 'now')", connection);
            await bump.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<StoreSchemaException>(() => temp.OpenAsync()).DefaultTimeout();
        Assert.Contains("schema version 999", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreachableServer_FailsStartWithAClearError_WithoutTheSecret()
    {
        var options = new StoreOptions { Provider = StoreProvider.Postgres };
        // A port nothing listens on (the test server's port with the next free one would race; 1 is privileged and unused).
        options.Postgres.ConnectionString = "Host=127.0.0.1;Port=1;Database=fleet;Username=fleet;Password=s3cret-Value;Timeout=2";
        options.Postgres.StartupWait = TimeSpan.FromSeconds(2.5);
        await using var store = NewStore(options);
        var started = DateTime.UtcNow;
        var error = await Assert.ThrowsAsync<StoreSchemaException>(() => store.InitializeAsync(CancellationToken.None)).DefaultTimeout();
        Assert.Contains("postgresql://127.0.0.1:1/fleet", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-Value", error.ToString(), StringComparison.Ordinal);
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1), "gave up without waiting for the server (Store:Postgres:StartupWait)");
    }

    [Fact]
    public async Task ServerStartingLate_IsWaitedFor_WithinStartupWait()
    {
        // A second server, stopped before the store starts trying and started again while it does.
        await using var late = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions { ReplicaCount = 0, ArchiveEnabled = false }).WaitAsync(TimeSpan.FromSeconds(60));
        await late.Primary.StopAsync();
        var options = new StoreOptions { Provider = StoreProvider.Postgres };
        options.Postgres.ConnectionString = late.Primary.ConnectionString;
        options.Postgres.StartupWait = TimeSpan.FromSeconds(30);
        await using var store = NewStore(options);
        var opening = store.InitializeAsync(CancellationToken.None);
        await Task.Delay(1500);
        Assert.False(opening.IsCompleted, "the store opened with its server stopped");
        await late.Primary.StartAsync();
        await opening.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(PostgresSchemaMigrations.LatestVersion, store.SchemaVersion);
    }

    [Theory]
    [InlineData("", "Store:Postgres:ConnectionString is required")]
    [InlineData("Host=db;Username=fleet", "must name the database")]
    [InlineData("Database=fleet", "must name the server")]
    [InlineData("Host=db;Database=fleet;Colour=blue", "not a valid connection string")]
    public void BadConnectionString_IsRefusedNamingTheKey(string connectionString, string expected)
    {
        var options = new StoreOptions { Provider = StoreProvider.Postgres };
        options.Postgres.ConnectionString = connectionString;
        var result = new StoreOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void BadSchemaPoolAndTimeout_AreAllReported()
    {
        var options = new StoreOptions { Provider = StoreProvider.Postgres };
        options.Postgres.ConnectionString = "Host=db;Database=fleet";
        options.Postgres.Schema = "Fleet; DROP";
        options.Postgres.MaxConnections = 1;
        options.Postgres.CommandTimeout = TimeSpan.Zero;
        var result = new StoreOptionsValidator().Validate(null, options);
        foreach (var key in new[] { "Store:Postgres:Schema", "Store:Postgres:MaxConnections", "Store:Postgres:CommandTimeout" })
        {
            Assert.Contains(key, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    private static PostgresFleetStore NewStore(StoreOptions options) =>
        new(Microsoft.Extensions.Options.Options.Create(options), NullLogger<PostgresFleetStore>.Instance, TimeProvider.System);
}
