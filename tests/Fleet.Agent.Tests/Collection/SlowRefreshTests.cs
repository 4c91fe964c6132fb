using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;
using Google.Protobuf.WellKnownTypes;
using Npgsql;

namespace Fleet.Agent.Tests.Collection;

/// <summary>Sizes and the table report: refreshed only every SlowInterval, bounded, and never queued behind DDL locks.</summary>
[Collection(CollectionClusterGroup.Name)]
public sealed class SlowRefreshTests(CollectionClusterFixture fixture)
{
    private static readonly TimeSpan SlowInterval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(30);

    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task CollectAsync_SlowFigures_RefreshedOnlyEverySlowIntervalAndCarriedInBetween()
    {
        var time = new ManualTimeProvider();
        await using var collector = TestCollector.Create(Primary, time, new CollectionOptions { SlowInterval = SlowInterval, TopTables = 5 });
        var start = Timestamp.FromDateTimeOffset(time.Start);

        var batches = collector.Batches;
        var first = await collector.CollectAsync();
        Assert.True(collector.Batches - batches >= 2, "the first cycle runs the fast and the slow batch");
        Assert.Empty(first.CollectionErrors);
        Assert.Equal(start, first.TableHealth.AsOf);
        var postgres = Assert.Single(first.Databases, database => database.Name == "postgres");
        Assert.True(postgres.SizeBytes > 1_000_000);
        Assert.Equal(start, postgres.SizeAsOf);
        Assert.False(first.HasRateIntervalSeconds);

        time.Advance(TimeSpan.FromMinutes(1));
        batches = collector.Batches;
        var second = await collector.CollectAsync();
        Assert.Equal(1, collector.Batches - batches);
        Assert.Equal(start, second.TableHealth.AsOf);
        Assert.Equal(start, second.Databases.Single(database => database.Name == "postgres").SizeAsOf);
        Assert.Equal(postgres.SizeBytes, second.Databases.Single(database => database.Name == "postgres").SizeBytes);
        Assert.Equal(60, second.RateIntervalSeconds, 6);
        Assert.True(second.Databases.Single(database => database.Name == "postgres").HasCommitsPerSecond);

        time.Advance(SlowInterval - TimeSpan.FromMinutes(1));
        batches = collector.Batches;
        var third = await collector.CollectAsync();
        Assert.True(collector.Batches - batches >= 2, "the slow batch runs again once SlowInterval has passed");
        var refreshed = Timestamp.FromDateTimeOffset(time.Start + SlowInterval);
        Assert.Equal(refreshed, third.TableHealth.AsOf);
        Assert.Equal(refreshed, third.Databases.Single(database => database.Name == "postgres").SizeAsOf);
    }

    [Fact]
    public async Task CollectAsync_DatabaseWithOneThousandTables_NormalCycleIsStillOneBatchAndTheReportStaysBounded()
    {
        var database = Sql.UniqueName("coll_many");
        await Sql.ExecuteAsync(Primary, $"CREATE DATABASE {database}");
        try
        {
            for (var chunk = 0; chunk < 10; chunk++)
            {
                await Sql.ExecuteAsync(
                    Primary,
                    $"DO $$ BEGIN FOR i IN {(chunk * 100) + 1}..{(chunk + 1) * 100} LOOP " +
                    "EXECUTE format('CREATE TABLE t_%s (id int)', i); END LOOP; END $$",
                    database);
            }

            var time = new ManualTimeProvider();
            await using var collector = TestCollector.Create(Primary, time, new CollectionOptions { SlowInterval = SlowInterval, TopTables = 5 });
            var slow = await collector.CollectAsync();
            Assert.Empty(slow.CollectionErrors);
            Assert.InRange(slow.TableHealth.TopTables.Count, 1, 5);
            Assert.True(slow.Databases.Single(d => d.Name == database).HasSizeBytes);

            time.Advance(TimeSpan.FromSeconds(1));
            var batches = collector.Batches;
            var normal = await collector.CollectAsync();

            Assert.Equal(1, collector.Batches - batches);
            Assert.Empty(normal.CollectionErrors);
            Assert.Equal(PostgresState.Up, normal.PostgresState);
            Assert.InRange(normal.TableHealth.TopTables.Count, 1, 5);
        }
        finally
        {
            await Sql.ExecuteAsync(Primary, $"DROP DATABASE {database} WITH (FORCE)");
        }
    }

    [Fact]
    public async Task CollectAsync_TableWithGrantedOrWaitingAccessExclusiveLock_IsReportedWithoutSizesInsteadOfWaiting()
    {
        var database = Sql.UniqueName("coll_lock");
        await Sql.ExecuteAsync(Primary, $"CREATE DATABASE {database}");
        try
        {
            // Autovacuum off so the dead tuples stay; the table must top the dead-tuple ranking.
            await Sql.ExecuteAsync(
                Primary,
                "CREATE TABLE bloated (id int, filler text) WITH (autovacuum_enabled = false); " +
                "INSERT INTO bloated SELECT i, repeat('x', 100) FROM generate_series(1, 5000) i; " +
                "DELETE FROM bloated WHERE id > 1000; ANALYZE bloated",
                database);
            await Polling.UntilAsync(
                async _ => await Sql.ScalarAsync<long>(Primary, "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'bloated'", database) >= 4000,
                Condition,
                "the dead tuples to reach the statistics");
            var time = new ManualTimeProvider();
            await using var collector = TestCollector.Create(Primary, time, new CollectionOptions { SlowInterval = SlowInterval, TopTables = 5 });

            await using (var holder = await Sql.OpenAsync(Primary, database))
            await using (var transaction = await holder.BeginTransactionAsync())
            {
                await Sql.ExecuteAsync(holder, "LOCK TABLE bloated IN ACCESS EXCLUSIVE MODE");

                var snapshot = await collector.CollectAsync();

                Assert.Empty(snapshot.CollectionErrors);
                var locked = Bloated(snapshot, database);
                Assert.False(locked.HasTotalBytes);
                Assert.False(locked.HasEstimatedBloatBytes);
                Assert.InRange(locked.DeadTuples, 3000UL, 5000UL);
                Assert.InRange(locked.DeadRatio, 0.6, 1.0);
            }

            await using (var reader = await Sql.OpenAsync(Primary, database))
            await using (var readTransaction = await reader.BeginTransactionAsync())
            await using (var alterer = await Sql.OpenAsync(Primary, database))
            await using (var alterTransaction = await alterer.BeginTransactionAsync())
            {
                await Sql.ExecuteAsync(reader, "SELECT count(*) FROM bloated");
                await using var lockCommand = new NpgsqlCommand("LOCK TABLE bloated IN ACCESS EXCLUSIVE MODE", alterer);
                var pending = lockCommand.ExecuteNonQueryAsync();
                await Polling.UntilAsync(
                    async _ => await Sql.ScalarAsync<long>(
                        Primary, "SELECT count(*) FROM pg_locks WHERE NOT granted AND mode = 'AccessExclusiveLock' AND relation = 'bloated'::regclass", database) == 1,
                    Condition,
                    "the ACCESS EXCLUSIVE request to queue");
                time.Advance(SlowInterval);

                var snapshot = await collector.CollectAsync();

                Assert.Empty(snapshot.CollectionErrors);
                Assert.False(Bloated(snapshot, database).HasTotalBytes);
                await readTransaction.RollbackAsync();
                await pending.WaitAsync(Condition);
                await alterTransaction.RollbackAsync();
            }

            time.Advance(SlowInterval);
            var unlocked = Bloated(await collector.CollectAsync(), database);
            Assert.True(unlocked.TotalBytes > 0);
            Assert.True(unlocked.EstimatedBloatBytes > 0, "4000 of 5000 rows are dead, so most of the heap is bloat");
            Assert.InRange(unlocked.EstimatedBloatRatio, 0.3, 1.0);
        }
        finally
        {
            await Sql.ExecuteAsync(Primary, $"DROP DATABASE {database} WITH (FORCE)");
        }
    }

    private static NodeSnapshot.Types.TableStats Bloated(NodeSnapshot snapshot, string database) =>
        Assert.Single(snapshot.TableHealth.TopTables, table => table.Database == database && table.Name == "public.bloated");
}
