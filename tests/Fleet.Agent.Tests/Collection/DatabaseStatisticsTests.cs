using Fleet.Agent.Collection;
using Fleet.Agent.Metrics;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Npgsql;

namespace Fleet.Agent.Tests.Collection;

/// <summary>
/// The per-database figures of the fast batch (pg_stat_database, pg_stat_database_conflicts, and
/// pg_stat_activity / pg_locks grouped by database), against a database each test creates for itself so
/// that counts can be exact.
/// </summary>
[Collection(CollectionClusterGroup.Name)]
public sealed class DatabaseStatisticsTests(CollectionClusterFixture fixture)
{
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(30);

    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task CollectAsync_RowsInsertedUpdatedDeletedAndRead_TupleCountersRiseByAtLeastThat()
    {
        await using var database = await TestDatabase.CreateAsync(Primary, "coll_tup");
        await using var collector = TestCollector.Create(Primary);
        var before = Single(await collector.CollectAsync(), database.Name);

        await using (var session = await Sql.OpenAsync(Primary, database.Name))
        {
            await Sql.ExecuteAsync(session, "CREATE TABLE t (id int PRIMARY KEY, v int)");
            await Sql.ExecuteAsync(session, "INSERT INTO t SELECT i, 0 FROM generate_series(1, 100) i");
            await Sql.ExecuteAsync(session, "UPDATE t SET v = 1 WHERE id <= 40");
            await Sql.ExecuteAsync(session, "DELETE FROM t WHERE id > 70");
            await Sql.ExecuteAsync(session, "SELECT count(*) FROM t"); // a sequential scan returning the 70 live rows
            await Sql.ExecuteAsync(session, "SET enable_seqscan = off; SELECT v FROM t WHERE id = 5"); // an index fetch
        }

        // A backend flushes its statistics at most once a second while idle and when it exits, which it
        // does after the client has gone: wait for all of them.
        NodeSnapshot.Types.Database after = before;
        await Polling.UntilAsync(
            async _ =>
            {
                after = Single(await collector.CollectAsync(), database.Name);
                return after.TupInserted >= before.TupInserted + 100 && after.TupUpdated >= before.TupUpdated + 40 &&
                       after.TupDeleted >= before.TupDeleted + 30 && after.TupReturned >= before.TupReturned + 70 &&
                       after.TupFetched >= before.TupFetched + 1;
            },
            Condition,
            "the session's row counts to reach pg_stat_database");

        Assert.True(after.TupInserted >= before.TupInserted + 100, $"tup_inserted {before.TupInserted} -> {after.TupInserted}");
        Assert.True(after.TupUpdated >= before.TupUpdated + 40, $"tup_updated {before.TupUpdated} -> {after.TupUpdated}");
        Assert.True(after.TupDeleted >= before.TupDeleted + 30, $"tup_deleted {before.TupDeleted} -> {after.TupDeleted}");
        Assert.True(after.TupReturned >= before.TupReturned + 70, $"tup_returned {before.TupReturned} -> {after.TupReturned}");
        Assert.True(after.TupFetched >= before.TupFetched + 1, $"tup_fetched {before.TupFetched} -> {after.TupFetched}");
        Assert.True(after.Commits > before.Commits);
    }

    [Fact]
    public async Task CollectAsync_SessionsOpenedAndClosed_SessionStatisticsRise()
    {
        await using var database = await TestDatabase.CreateAsync(Primary, "coll_sess");
        await using var collector = TestCollector.Create(Primary);
        var before = Single(await collector.CollectAsync(), database.Name);
        Assert.True(before.HasSessions, "PostgreSQL 14+ has the session columns");

        for (var i = 0; i < 3; i++)
        {
            await using var session = await Sql.OpenAsync(Primary, database.Name);
            await Sql.ExecuteAsync(session, "SELECT pg_sleep(0.05)");
        }

        NodeSnapshot.Types.Database after = before;
        await Polling.UntilAsync(
            async _ =>
            {
                after = Single(await collector.CollectAsync(), database.Name);
                // sessions counts at connect; the times are added when a session ends (flushed as its backend exits).
                return after.Sessions >= before.Sessions + 3 && after.ActiveTimeMs >= before.ActiveTimeMs + 150 &&
                       after.SessionTimeMs >= before.SessionTimeMs + 150;
            },
            Condition,
            "three ended sessions of 50 ms statements to be counted");

        Assert.True(after.Sessions >= before.Sessions + 3, $"sessions {before.Sessions} -> {after.Sessions}");
        Assert.True(after.HasIdleInTransactionTimeMs);
        Assert.True(after.HasSessionsAbandoned && after.HasSessionsFatal && after.HasSessionsKilled);
        Assert.Equal(before.SessionsKilled, after.SessionsKilled);
    }

    [Fact]
    public async Task CollectAsync_IdleIdleInTransactionAndAborted_CountedPerDatabaseAndState()
    {
        await using var database = await TestDatabase.CreateAsync(Primary, "coll_state");
        await using var collector = TestCollector.Create(Primary);
        await using var idle = await Sql.OpenAsync(Primary, database.Name);
        await using var inTransaction = await Sql.OpenAsync(Primary, database.Name);
        await using var aborted = await Sql.OpenAsync(Primary, database.Name);
        await using var open = await inTransaction.BeginTransactionAsync();
        await Sql.ExecuteAsync(inTransaction, "SELECT 1");
        await using var failed = await aborted.BeginTransactionAsync();
        await Assert.ThrowsAsync<PostgresException>(() => Sql.ExecuteAsync(aborted, "SELECT 1/0"));

        var snapshot = await collector.CollectAsync();

        var db = Single(snapshot, database.Name);
        Assert.Equal(1U, Connections(db, "idle"));
        Assert.Equal(1U, Connections(db, "idle in transaction"));
        Assert.Equal(1U, Connections(db, "idle in transaction (aborted)"));
        Assert.Equal(0U, Connections(db, "active"));
        Assert.Equal(3, db.ConnectionsByState.Count);
        Assert.True(db.ConnectionsByState.Single(s => s.State == "idle in transaction").HasLongestTransactionSeconds);
        // An aborted transaction has no xact_start any more (PostgreSQL clears it on abort): no age there.
        Assert.False(db.ConnectionsByState.Single(s => s.State == "idle in transaction (aborted)").HasLongestTransactionSeconds);
        Assert.False(db.ConnectionsByState.Single(s => s.State == "idle").HasLongestTransactionSeconds);
        Assert.True(db.Backends >= 3, $"numbackends {db.Backends}");

        // The server-wide figures are the sums of the same groups (no template or capped database here).
        var connections = snapshot.Connections;
        Assert.Equal(connections.Total, (uint)snapshot.Databases.Sum(d => d.ConnectionsByState.Sum(s => s.Connections)));
        Assert.Equal(connections.Idle, (uint)snapshot.Databases.Sum(d => Connections(d, "idle")));
        Assert.True(connections.IdleInTransaction >= 1);
        Assert.True(connections.IdleInTransactionAborted >= 1);
        Assert.True(connections.Active >= 1, "the agent's own session is active");
        Assert.True(connections.HasLongestIdleInTransactionSeconds);

        var e = Metrics(snapshot);
        Assert.Contains($"fleet_pg_database_connections{{datname=\"{database.Name}\",state=\"idle_in_transaction\"}} 1", e);
        Assert.Contains($"fleet_pg_database_connections{{datname=\"{database.Name}\",state=\"idle_in_transaction_aborted\"}} 1", e);
        Assert.Contains($"fleet_pg_database_connections{{datname=\"{database.Name}\",state=\"active\"}} 0", e);
        Assert.Contains($"fleet_pg_database_longest_transaction_seconds{{datname=\"{database.Name}\",state=\"idle_in_transaction\"}} ", e);
        Assert.DoesNotContain($"fleet_pg_database_longest_transaction_seconds{{datname=\"{database.Name}\",state=\"idle\"}}", e);
    }

    [Fact]
    public async Task CollectAsync_ALockWaiter_CountedPerDatabaseAndModeAndGoneOnceReleased()
    {
        await using var database = await TestDatabase.CreateAsync(Primary, "coll_lock");
        await Sql.ExecuteAsync(Primary, "CREATE TABLE t (id int)", database.Name);
        await using var collector = TestCollector.Create(Primary);
        await using var holder = await Sql.OpenAsync(Primary, database.Name);
        await using var waiter = await Sql.OpenAsync(Primary, database.Name);
        await using (var transaction = await holder.BeginTransactionAsync())
        {
            await Sql.ExecuteAsync(holder, "LOCK TABLE t IN ACCESS EXCLUSIVE MODE");
            await using var blocked = new NpgsqlCommand("SELECT count(*) FROM t", waiter);
            var waiting = blocked.ExecuteScalarAsync();

            NodeSnapshot snapshot = new();
            await Polling.UntilAsync(
                async _ =>
                {
                    snapshot = await collector.CollectAsync();
                    return Lock(Single(snapshot, database.Name), "AccessShareLock") is { Waiting: 1 };
                },
                Condition,
                "the blocked SELECT to show up as a waiting AccessShareLock");

            var db = Single(snapshot, database.Name);
            Assert.Equal(1U, Lock(db, "AccessExclusiveLock")?.Locks);
            Assert.Equal(0U, Lock(db, "AccessExclusiveLock")?.Waiting);
            Assert.True(Lock(db, "AccessShareLock")!.Locks >= 1);
            Assert.Equal(1U, Connections(db, "active"));
            Assert.Equal(1U, Connections(db, "idle in transaction"));
            Assert.True(snapshot.Connections.WaitingLocks >= 1);
            Assert.True(snapshot.Connections.Waiting >= 1);
            var postgres = Single(snapshot, "postgres");
            Assert.True(postgres.LocksByMode.All(mode => mode.Waiting == 0), "the waiter is counted in its own database only");

            var e = Metrics(snapshot);
            Assert.Contains($"fleet_pg_database_locks{{datname=\"{database.Name}\",mode=\"AccessExclusiveLock\"}} 1", e);
            Assert.Contains($"fleet_pg_database_locks{{datname=\"{database.Name}\",mode=\"SIReadLock\"}} 0", e);

            await transaction.RollbackAsync();
            await waiting.WaitAsync(Condition);
        }

        var released = Single(await collector.CollectAsync(), database.Name);
        Assert.Null(Lock(released, "AccessExclusiveLock"));
        Assert.True(released.LocksByMode.All(mode => mode.Waiting == 0));
    }

    [Fact]
    public async Task CollectAsync_Primary_ConflictCausesZeroChecksumsAndBgwriterExtrasPresent()
    {
        await using var collector = TestCollector.Create(Primary);

        var snapshot = await collector.CollectAsync();

        var postgres = Single(snapshot, "postgres");
        Assert.Equal(0UL, postgres.ConflictsTablespace + postgres.ConflictsLock + postgres.ConflictsSnapshot + postgres.ConflictsBufferpin + postgres.ConflictsDeadlock);
        Assert.False(postgres.HasConflictsActiveLogicalslot, "PostgreSQL 15 has no confl_active_logicalslot");
        Assert.True(postgres.HasChecksumFailures, "the test cluster is initialised with data checksums");
        Assert.Equal(0UL, postgres.ChecksumFailures);
        Assert.Null(postgres.ChecksumLastFailure);
        Assert.True(snapshot.Bgwriter.HasBuffersBackend && snapshot.Bgwriter.HasBuffersBackendFsync, "PostgreSQL 15 still has buffers_backend");
        Assert.NotNull(snapshot.Bgwriter.StatsReset);
        Assert.Equal(snapshot.Bgwriter.StatsReset, snapshot.Checkpoints.StatsReset);
        var e = Metrics(snapshot);
        foreach (var cause in new[] { "tablespace", "lock", "snapshot", "bufferpin", "deadlock" })
        {
            Assert.Contains($"fleet_pg_database_conflicts_{cause}_total{{datname=\"postgres\"}} 0\n", e);
        }

        Assert.DoesNotContain("fleet_pg_database_conflicts_active_logicalslot_total", e);
        Assert.Contains("fleet_pg_database_checksum_failures_total{datname=\"postgres\"} 0\n", e);
        Assert.DoesNotContain("fleet_pg_database_checksum_last_failure_timestamp_seconds", e);
        Assert.Contains("fleet_pg_bgwriter_buffers_backend_total ", e);
    }

    /// <summary>
    /// PostgreSQL 13 and 17 shapes of the batch, run on the test server: the 13 text selects NULLs for the
    /// 14+ columns; for the 17 text, temporary views shadow pg_stat_checkpointer (missing in 15) and
    /// pg_stat_database_conflicts (with a 16+ column), with a distinct value per column so a misread
    /// ordinal shows. The temporary schema is searched before pg_catalog.
    /// </summary>
    [Fact]
    public async Task FastBatch_PostgreSql13And17Shapes_LeaveMissingColumnsUnsetAndReadTheRest()
    {
        await using var connection = await Sql.OpenAsync(Primary);

        var v13 = await RunFastBatchAsync(connection, 130000);

        var postgres13 = Single(v13, "postgres");
        Assert.False(postgres13.HasSessions || postgres13.HasSessionTimeMs || postgres13.HasActiveTimeMs || postgres13.HasIdleInTransactionTimeMs);
        Assert.False(postgres13.HasSessionsAbandoned || postgres13.HasSessionsFatal || postgres13.HasSessionsKilled);
        Assert.False(postgres13.HasConflictsActiveLogicalslot);
        Assert.True(v13.Bgwriter.HasBuffersBackend);
        Assert.True(postgres13.Backends >= 1);

        await Sql.ExecuteAsync(connection, """
            CREATE TEMP VIEW pg_stat_checkpointer AS
              SELECT 101::bigint AS num_timed, 102::bigint AS num_requested, 103::float8 AS write_time, 104::float8 AS sync_time,
                     105::bigint AS buffers_written, timestamptz '2024-01-02 03:04:05+00' AS stats_reset;
            CREATE TEMP VIEW pg_stat_database_conflicts AS
              SELECT datid, datname, 11::bigint AS confl_tablespace, 12::bigint AS confl_lock, 13::bigint AS confl_snapshot,
                     14::bigint AS confl_bufferpin, 15::bigint AS confl_deadlock, 16::bigint AS confl_active_logicalslot
              FROM pg_catalog.pg_stat_database_conflicts;
            """);

        var v17 = await RunFastBatchAsync(connection, 170000);

        Assert.Equal((101UL, 102UL, 103.0, 104.0, 105UL), (v17.Checkpoints.Timed, v17.Checkpoints.Requested, v17.Checkpoints.WriteTimeMs, v17.Checkpoints.SyncTimeMs, v17.Checkpoints.BuffersWritten));
        Assert.Equal(new DateTime(2024, 1, 2, 3, 4, 5, DateTimeKind.Utc), v17.Checkpoints.StatsReset.ToDateTime());
        Assert.False(v17.Bgwriter.HasBuffersBackend);
        Assert.False(v17.Bgwriter.HasBuffersBackendFsync);
        Assert.NotNull(v17.Bgwriter.StatsReset);
        var postgres17 = Single(v17, "postgres");
        Assert.Equal(
            (11UL, 12UL, 13UL, 14UL, 15UL, 16UL),
            (postgres17.ConflictsTablespace, postgres17.ConflictsLock, postgres17.ConflictsSnapshot, postgres17.ConflictsBufferpin,
             postgres17.ConflictsDeadlock, postgres17.ConflictsActiveLogicalslot));
        Assert.True(postgres17.HasSessions && postgres17.Sessions >= 1);
        Assert.True(postgres17.HasSessionTimeMs && postgres17.HasSessionsKilled);

        var e = Metrics(v17);
        Assert.Contains("fleet_pg_database_conflicts_active_logicalslot_total{datname=\"postgres\"} 16\n", e);
        Assert.DoesNotContain("fleet_pg_bgwriter_buffers_backend_total", e);
        Assert.Contains("fleet_pg_checkpoint_stats_reset_timestamp_seconds 1704164645\n", e);
    }

    private static async Task<NodeSnapshot> RunFastBatchAsync(NpgsqlConnection connection, int serverVersionNum)
    {
        var snapshot = new NodeSnapshot();
        await using var batch = new NpgsqlBatch(connection);
        foreach (var sql in CollectionQueries.FastBatch(serverVersionNum))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(sql));
        }

        await using var reader = await batch.ExecuteReaderAsync().WaitAsync(Sql.Timeout);
        await FastResultReader.ReadAsync(reader, snapshot, CancellationToken.None).WaitAsync(Sql.Timeout);
        return snapshot;
    }

    private static NodeSnapshot.Types.Database Single(NodeSnapshot snapshot, string name) =>
        Assert.Single(snapshot.Databases, database => database.Name == name);

    private static uint Connections(NodeSnapshot.Types.Database database, string state) =>
        (uint)database.ConnectionsByState.Where(s => s.State == state).Sum(s => s.Connections);

    private static NodeSnapshot.Types.LockModeCount? Lock(NodeSnapshot.Types.Database database, string mode) =>
        database.LocksByMode.SingleOrDefault(l => l.Mode == mode);

    private static string Metrics(NodeSnapshot snapshot) =>
        AgentMetricsWriter.Render(snapshot, new AgentFacts { Identity = new AgentIdentity("n", "c", "r", "z"), AgentVersion = "test" });

    /// <summary>A database of its own for one test, dropped (with its sessions) afterwards.</summary>
    private sealed class TestDatabase(IPostgresNode node, string name) : IAsyncDisposable
    {
        public string Name { get; } = name;

        public static async Task<TestDatabase> CreateAsync(IPostgresNode node, string prefix)
        {
            var name = Sql.UniqueName(prefix);
            await Sql.ExecuteAsync(node, $"CREATE DATABASE {name}");
            return new TestDatabase(node, name);
        }

        public async ValueTask DisposeAsync() => await Sql.ExecuteAsync(node, $"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }
}
