using Fleet.Agent.Collection;
using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;

namespace Fleet.Agent.Tests.Collection;

/// <summary>Role, WAL positions, standbys, lag and archiving on a real primary with two replicas.</summary>
[Collection(CollectionClusterGroup.Name)]
public sealed class ReplicationSnapshotTests(CollectionClusterFixture fixture)
{
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(60);

    private IPostgresCluster Cluster => fixture.Cluster;

    [Fact]
    public async Task CollectAsync_Primary_ReportsRoleTimelineLsnsAndTheServerFacts()
    {
        await using var collector = TestCollector.Create(Cluster.Primary);

        var snapshot = await collector.CollectAsync();
        var currentAfter = await Sql.LsnAsync(Cluster.Primary, "pg_current_wal_lsn()");

        Assert.Equal(PostgresState.Up, snapshot.PostgresState);
        Assert.Empty(snapshot.CollectionErrors);
        Assert.Equal("", snapshot.PostgresError);
        Assert.Equal(NodeRole.Primary, snapshot.Role);
        Assert.Equal(1U, snapshot.Timeline);
        Assert.Equal(await Sql.ScalarAsync<uint>(Cluster.Primary, "SELECT current_setting('server_version_num')::int"), snapshot.ServerVersionNum);
        Assert.Equal(
            unchecked((ulong)await Sql.ScalarAsync<long>(Cluster.Primary, "SELECT system_identifier FROM pg_control_system()")),
            snapshot.SystemIdentifier);
        Assert.Null(snapshot.Replica);
        Assert.InRange(snapshot.Primary.FlushLsn, 1UL, snapshot.Primary.CurrentLsn);
        Assert.InRange(snapshot.Primary.CurrentLsn, snapshot.Primary.FlushLsn, snapshot.Primary.InsertLsn);
        Assert.True(snapshot.Primary.CurrentLsn <= currentAfter);
        Assert.Equal("", snapshot.Primary.SynchronousStandbyNames);
        Assert.Equal("on", snapshot.Archiver.ArchiveMode);
        Assert.Equal(40U, snapshot.Connections.MaxConnections);
        Assert.Contains(snapshot.Databases, database => database.Name == "postgres");
        Assert.DoesNotContain(snapshot.Databases, database => database.Name.StartsWith("template", StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(snapshot.Wraparound.Database));
        Assert.InRange(snapshot.Wraparound.PercentTowardsWraparound, 0, 5);
        Assert.NotNull(snapshot.Checkpoints);
        Assert.NotNull(snapshot.Bgwriter);
        Assert.True(snapshot.Bgwriter.BuffersAlloc > 0);
        Assert.All(Cluster.Replicas, replica =>
        {
            var slot = Assert.Single(snapshot.Slots, slot => slot.SlotName == replica.Name);
            Assert.Equal("physical", slot.SlotType);
            Assert.True(slot.Active);
            Assert.True(slot.HasRetainedBytes);
            Assert.Equal("reserved", slot.WalStatus);
        });
        Assert.True(snapshot.Host.MemoryTotalBytes > 0);
        Assert.True(snapshot.Host.DiskTotalBytes > 0);
        Assert.InRange(snapshot.Host.DiskUsedBytes, 1UL, snapshot.Host.DiskTotalBytes);
        Assert.False(snapshot.HasRateIntervalSeconds);
        Assert.True(snapshot.CollectionSeconds > 0);
    }

    [Fact]
    public async Task CollectAsync_SecondCycle_HasRatesAndCpu()
    {
        await using var collector = TestCollector.Create(Cluster.Primary);
        await collector.CollectAsync();
        await Sql.ExecuteAsync(Cluster.Primary, "SELECT 1");
        await WaitForProcStatTickAsync();

        var snapshot = await collector.CollectAsync();

        Assert.True(snapshot.HasRateIntervalSeconds);
        Assert.True(snapshot.RateIntervalSeconds > 0);
        var postgres = Assert.Single(snapshot.Databases, database => database.Name == "postgres");
        Assert.True(postgres.HasCommitsPerSecond);
        Assert.True(postgres.CommitsPerSecond > 0);
        Assert.True(postgres.HasHitRatio);
        Assert.True(postgres.HasDeadlocksPerHour);
        Assert.True(snapshot.Host.HasCpuPercent);
        Assert.InRange(snapshot.Host.CpuPercent, 0, 100);
    }

    [Fact]
    public async Task CollectAsync_Replicas_ReportReplicaRoleReplayPositionAndStreamingReceiver()
    {
        var primarySnapshot = await CollectOnceAsync(Cluster.Primary);
        foreach (var replica in Cluster.Replicas)
        {
            var snapshot = await CollectOnceAsync(replica);
            var primaryLsn = await Sql.LsnAsync(Cluster.Primary, "pg_current_wal_lsn()");

            Assert.Equal(PostgresState.Up, snapshot.PostgresState);
            Assert.Empty(snapshot.CollectionErrors);
            Assert.Equal(NodeRole.Replica, snapshot.Role);
            Assert.Equal(1U, snapshot.Timeline);
            Assert.Equal(primarySnapshot.SystemIdentifier, snapshot.SystemIdentifier);
            Assert.Null(snapshot.Primary);
            Assert.InRange(snapshot.Replica.ReplayLsn, 1UL, primaryLsn);
            Assert.InRange(snapshot.Replica.ReceiveLsn, 1UL, primaryLsn);
            Assert.False(snapshot.Replica.ReplayPaused);
            var receiver = snapshot.Replica.WalReceiver;
            Assert.Equal("streaming", receiver.Status);
            Assert.Equal((uint)Cluster.Primary.Port, receiver.SenderPort);
            Assert.Equal(replica.Name, receiver.SlotName);
            Assert.Equal(1U, receiver.ReceivedTimeline);
            Assert.NotNull(receiver.LastMsgReceiptTime);
            Assert.Empty(snapshot.Standbys);
        }
    }

    [Fact]
    public async Task CollectAsync_Primary_ListsBothReplicasAsStreamingStandbys()
    {
        var snapshot = await CollectOnceAsync(Cluster.Primary);

        Assert.All(Cluster.Replicas, replica =>
        {
            var standby = Assert.Single(snapshot.Standbys, standby => standby.ApplicationName == replica.Name);
            Assert.Equal("streaming", standby.State);
            Assert.Equal("async", standby.SyncState);
            Assert.Equal("127.0.0.1", standby.ClientAddr);
            Assert.InRange(standby.ReplayLsn, 1UL, standby.SentLsn);
            Assert.InRange(standby.FlushLsn, standby.ReplayLsn, standby.SentLsn);
        });
    }

    [Fact]
    public async Task CollectAsync_ReplayPausedUnderWriteLoad_ShowsLagOnBothSidesThenDrainsToZero()
    {
        var replica = Cluster.Replicas[0];
        var table = Sql.UniqueName("coll_lag");
        await using var onPrimary = TestCollector.Create(Cluster.Primary);
        await using var onReplica = TestCollector.Create(replica);
        await Cluster.WaitForReplicaCatchUpAsync(Condition);
        await Sql.ExecuteAsync(replica, "SELECT pg_wal_replay_pause()");
        ulong target;
        try
        {
            // A bounded load: 200k rows in one transaction (~10 MB of WAL).
            await Sql.ExecuteAsync(Cluster.Primary, $"CREATE TABLE {table} (id int, filler text); INSERT INTO {table} SELECT i, 'row ' || i FROM generate_series(1, 200000) i");
            target = await Sql.LsnAsync(Cluster.Primary, "pg_current_wal_lsn()");

            NodeSnapshot.Types.Replica? paused = null;
            await Polling.UntilAsync(
                async _ =>
                {
                    paused = (await onReplica.CollectAsync()).Replica;
                    return paused.ReplayPaused && paused.ReceiveLsn >= target;
                },
                Condition,
                "the paused replica to receive the whole load");
            Assert.True(paused!.ReplayLsn < target, "replay must lag behind what was received while paused");

            NodeSnapshot.Types.Standby? lagging = null;
            await Polling.UntilAsync(
                async _ =>
                {
                    lagging = (await onPrimary.CollectAsync()).Standbys.Single(standby => standby.ApplicationName == replica.Name);
                    return lagging.FlushLsn >= target;
                },
                Condition,
                "the primary to see the load flushed on the paused standby");
            Assert.True(lagging!.LagBytes >= target - lagging.ReplayLsn, $"lag {lagging.LagBytes} must cover the unreplayed load");
            Assert.True(lagging.LagBytes > 1_000_000, $"lag {lagging.LagBytes} should reflect ~10 MB of WAL");
        }
        finally
        {
            await Sql.ExecuteAsync(replica, "SELECT pg_wal_replay_resume()");
        }

        await Polling.UntilAsync(
            async _ =>
            {
                var standby = (await onPrimary.CollectAsync()).Standbys.Single(standby => standby.ApplicationName == replica.Name);
                return standby.LagBytes == 0 && standby.ReplayLsn >= target;
            },
            Condition,
            "the standby's lag to drain to 0 after resuming replay");
        var resumed = (await onReplica.CollectAsync()).Replica;
        Assert.False(resumed.ReplayPaused);
        Assert.True(resumed.ReplayLsn >= target);
        await Sql.ExecuteAsync(Cluster.Primary, $"DROP TABLE {table}");
    }

    [Fact]
    public async Task CollectAsync_AfterSwitchWal_ArchiverCountsTheSwitchedSegment()
    {
        await using var collector = TestCollector.Create(Cluster.Primary);
        var before = (await collector.CollectAsync()).Archiver;

        var segment = await Cluster.SwitchWalAsync().WaitAsync(Condition);
        await Cluster.WaitForArchivedAsync(segment, Condition);

        NodeSnapshot.Types.Archiver? after = null;
        await Polling.UntilAsync(
            async _ =>
            {
                after = (await collector.CollectAsync()).Archiver;
                return after.LastArchivedWal == segment;
            },
            Condition,
            $"pg_stat_archiver to report {segment}");
        Assert.True(after!.ArchivedCount > before.ArchivedCount);
        Assert.Equal(before.FailedCount, after.FailedCount);
        Assert.NotNull(after.LastArchivedTime);
    }

    private static async Task<NodeSnapshot> CollectOnceAsync(IPostgresNode node)
    {
        await using var collector = TestCollector.Create(node);
        return await collector.CollectAsync();
    }

    /// <summary>
    /// /proc/stat counts CPU time in clock ticks (10 ms); two cycles inside one tick have no CPU figure,
    /// by design. Real cycles are seconds apart, so wait (bounded) until the machine's total has moved on.
    /// </summary>
    private static async Task WaitForProcStatTickAsync()
    {
        var reader = new HostMetricsReader();
        var start = reader.ReadCpu() ?? throw new InvalidOperationException("/proc/stat has no aggregate cpu line");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (reader.ReadCpu() is { } now && now.Total <= start.Total)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(2), deadline.Token);
        }
    }
}
