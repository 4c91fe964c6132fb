using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Fleet.Testing;
using Microsoft.Data.Sqlite;
using static Fleet.Aggregator.Tests.Store.EventStoreTests;

namespace Fleet.Aggregator.Tests.Store;

public sealed class DurabilityTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private SqliteTempStore temp = null!;

    public async Task InitializeAsync() => temp = await SqliteTempStore.CreateAsync();

    public async Task DisposeAsync() => await temp.DisposeAsync();

    private static long Synchronous(SqliteConnection connection, SqliteTransaction transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "PRAGMA synchronous";
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task DurableWrites_CommitWithSynchronousFull_OthersWithNormal()
    {
        // synchronous: 1 = NORMAL (WAL synced at checkpoints), 2 = FULL (WAL synced at every commit).
        Assert.Equal(2L, await temp.SqliteStore.WriteAsync(durable: true, Synchronous, CancellationToken.None).DefaultTimeout());
        Assert.Equal(1L, await temp.SqliteStore.WriteAsync(durable: false, Synchronous, CancellationToken.None).DefaultTimeout());
        await temp.SqliteStore.TryAdvanceEpochAsync("orders", 0, 1, CancellationToken.None).DefaultTimeout();
        Assert.Equal(1L, await temp.SqliteStore.WriteAsync(durable: false, Synchronous, CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task FailedWrite_RollsBackAndLeavesTheStoreUsable()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => temp.SqliteStore.WriteAsync<int>(durable: true, (connection, transaction) =>
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT INTO epochs (cluster, epoch, updated_ms) VALUES ('orders', 5, 0)";
            command.ExecuteNonQuery();
            throw new InvalidOperationException("boom");
        }, CancellationToken.None)).DefaultTimeout();

        Assert.Equal(0UL, await temp.SqliteStore.GetEpochAsync("orders", CancellationToken.None).DefaultTimeout());
        Assert.True((await temp.SqliteStore.TryAdvanceEpochAsync("orders", 0, 1, CancellationToken.None).DefaultTimeout()).Succeeded);
        Assert.Equal(1L, await temp.SqliteStore.WriteAsync(durable: false, Synchronous, CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task Dispose_CheckpointsTheWalIntoTheDatabaseFile()
    {
        await temp.Store.AppendEventAsync(NewEvent("a", "n", EventKind.Command, T0), CancellationToken.None).DefaultTimeout();
        await temp.SqliteStore.QueryEventsAsync(new EventQuery(), CancellationToken.None).DefaultTimeout();
        Assert.True(File.Exists(temp.Path + "-wal"));

        await temp.SqliteStore.DisposeAsync();

        // What docs/store.md promises for offline backups: the .db file alone is the whole store.
        Assert.False(File.Exists(temp.Path + "-wal"));
        Assert.False(File.Exists(temp.Path + "-shm"));
    }

    [Fact]
    public async Task CanceledToken_ThrowsWithoutWriting()
    {
        using var canceled = new CancellationTokenSource();
        await canceled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => temp.Store.AppendEventAsync(NewEvent("a", "n", EventKind.Command, T0), canceled.Token)).DefaultTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => temp.SqliteStore.TryAdvanceEpochAsync("a", 0, 1, canceled.Token)).DefaultTimeout();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => temp.SqliteStore.QueryEventsAsync(new EventQuery(), canceled.Token)).DefaultTimeout();

        Assert.Equal(0UL, await temp.SqliteStore.GetLastEventIdAsync(CancellationToken.None).DefaultTimeout());
        Assert.Equal(0UL, await temp.SqliteStore.GetEpochAsync("a", CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task UseBeforeInitialize_OrAfterDispose_FailsClearly()
    {
        var options = new StoreOptions { Path = Path.Combine(temp.Directory, "other.db") };
        var store = new SqliteFleetStore(Microsoft.Extensions.Options.Options.Create(options), Microsoft.Extensions.Logging.Abstractions.NullLogger<SqliteFleetStore>.Instance, TimeProvider.System);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetEpochAsync("a", CancellationToken.None)).DefaultTimeout();
        Assert.Contains("InitializeAsync", error.Message, StringComparison.Ordinal);

        await store.InitializeAsync(CancellationToken.None).DefaultTimeout();
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetEpochAsync("a", CancellationToken.None)).DefaultTimeout();
    }

    [Fact]
    public async Task ReadsRunWhileABatchIsBeingWritten()
    {
        var batch = Enumerable.Range(0, 5_000).Select(i => NewEvent("a", "n", EventKind.Command, T0.AddMilliseconds(i))).ToList();
        var writing = Task.Run(() => temp.SqliteStore.AppendEventsAsync(batch, CancellationToken.None));
        do
        {
            // A reader sees the last committed state: none of the batch, or all of it.
            var seen = await temp.SqliteStore.GetLastEventIdAsync(CancellationToken.None).DefaultTimeout();
            Assert.True(seen is 0 or 5_000, $"saw a partial batch: last ID {seen}");
            await Task.Delay(5);
        }
        while (!writing.IsCompleted);

        await writing.DefaultTimeout();
        Assert.Equal(5_000UL, await temp.SqliteStore.GetLastEventIdAsync(CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task SingleAndBatchedAppends_GetContiguousIdsInAppendOrder()
    {
        // Speed is the aggregator benchmark's business (bench/README.md); here: interleaved single and
        // batched appends number their events 1..n without gaps, in the order they were appended.
        var expected = new List<ulong>();
        var nodes = new List<string>();
        for (var round = 0; round < 15; round++)
        {
            nodes.Add($"single-{round}");
            expected.Add(await temp.Store.AppendEventAsync(NewEvent("a", nodes[^1], EventKind.Command, T0), CancellationToken.None).DefaultTimeout());
            var batch = Enumerable.Range(0, 50).Select(i => NewEvent("a", $"batch-{round}-{i}", EventKind.Command, T0)).ToList();
            nodes.AddRange(batch.Select(e => e.Node));
            expected.AddRange(await temp.SqliteStore.AppendEventsAsync(batch, CancellationToken.None).DefaultTimeout());
        }

        Assert.Equal(Enumerable.Range(1, 15 * 51).Select(i => (ulong)i), expected);
        Assert.Equal((ulong)expected.Count, await temp.SqliteStore.GetLastEventIdAsync(CancellationToken.None).DefaultTimeout());
        var stored = await temp.SqliteStore.GetEventsAfterAsync(0, expected.Count + 1, CancellationToken.None).DefaultTimeout();
        Assert.Equal(expected, stored.Select(e => e.Id));
        Assert.Equal(nodes, stored.Select(e => e.Node));
    }

}
