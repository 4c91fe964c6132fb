using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Fleet.LocalFleet.Postgres;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Tests.Collection;

/// <summary>Server settings: read in the slow refresh only, in base units, carried in between, and a reload shows at the next refresh.</summary>
[Collection(CollectionClusterGroup.Name)]
public sealed class SettingsSnapshotTests(CollectionClusterFixture fixture)
{
    private static readonly TimeSpan SlowInterval = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(30);

    private IPostgresNode Primary => fixture.Cluster.Primary;

    [Fact]
    public async Task CollectAsync_SlowRefresh_ReadsEveryNumericAndBooleanSettingInBaseUnits()
    {
        var time = new ManualTimeProvider();
        await using var collector = TestCollector.Create(Primary, time, new CollectionOptions { SlowInterval = SlowInterval });

        var snapshot = await collector.CollectAsync();

        Assert.Empty(snapshot.CollectionErrors);
        Assert.Equal(Timestamp.FromDateTimeOffset(time.Start), snapshot.Settings.AsOf);
        var settings = snapshot.Settings.Items;
        Assert.Equal(
            await Sql.ScalarAsync<int>(Primary, "SELECT count(*) FROM pg_settings WHERE vartype IN ('bool', 'integer', 'real')"),
            settings.Count);
        Assert.Equal(settings.Count, settings.Select(s => s.Name).Distinct(StringComparer.Ordinal).Count());

        var sharedBuffers = Setting(snapshot, "shared_buffers");
        Assert.Equal(await Sql.ScalarAsync<long>(Primary, "SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers'"), sharedBuffers.Value);
        Assert.Equal("bytes", sharedBuffers.Unit);

        var workMem = Setting(snapshot, "work_mem");
        Assert.Equal(await Sql.ScalarAsync<long>(Primary, "SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'work_mem' AND unit = 'kB'"), workMem.Value);

        var senderTimeout = Setting(snapshot, "wal_sender_timeout");
        Assert.Equal(await Sql.ScalarAsync<double>(Primary, "SELECT setting::float8 / 1000 FROM pg_settings WHERE name = 'wal_sender_timeout' AND unit = 'ms'"), senderTimeout.Value);
        Assert.Equal("seconds", senderTimeout.Unit);

        var checkpointTimeout = Setting(snapshot, "checkpoint_timeout");
        Assert.Equal(await Sql.ScalarAsync<double>(Primary, "SELECT setting::float8 FROM pg_settings WHERE name = 'checkpoint_timeout' AND unit = 's'"), checkpointTimeout.Value);
        Assert.Equal("seconds", checkpointTimeout.Unit);

        var fsync = Setting(snapshot, "fsync");
        Assert.Equal(await Sql.ScalarAsync<string>(Primary, "SELECT setting FROM pg_settings WHERE name = 'fsync'") == "on" ? 1 : 0, fsync.Value);
        Assert.Equal(string.Empty, fsync.Unit);
        Assert.Equal(0, Setting(snapshot, "in_hot_standby").Value);

        var maxConnections = Setting(snapshot, "max_connections");
        Assert.Equal(snapshot.Connections.MaxConnections, maxConnections.Value);
        Assert.Equal(string.Empty, maxConnections.Unit);
        Assert.Equal(await Sql.ScalarAsync<double>(Primary, "SELECT setting::float8 FROM pg_settings WHERE name = 'cpu_tuple_cost'"), Setting(snapshot, "cpu_tuple_cost").Value);
        Assert.Equal(-1, Setting(snapshot, "temp_file_limit").Value); // -1 (no limit) is kept, not converted
    }

    [Fact]
    public async Task CollectAsync_Settings_AreTheServersNotTheAgentSessionsOwn()
    {
        // The agent's own session runs with statement_timeout 5 s, lock_timeout 200 ms, an idle-in-transaction
        // timeout and default_transaction_read_only on (TestCollector.OptionsFor); the settings must not show them.
        await using var collector = TestCollector.Create(Primary, new ManualTimeProvider(), new CollectionOptions { SlowInterval = SlowInterval });

        var snapshot = await collector.CollectAsync();

        Assert.Empty(snapshot.CollectionErrors);
        foreach (var name in new[] { "statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout" })
        {
            Assert.Equal(
                await Sql.ScalarAsync<double>(Primary, $"SELECT setting::float8 / 1000 FROM pg_settings WHERE name = '{name}' AND unit = 'ms'"),
                Setting(snapshot, name).Value);
        }

        Assert.NotEqual(5, Setting(snapshot, "statement_timeout").Value);
        Assert.Equal(0, Setting(snapshot, "default_transaction_read_only").Value);
    }

    [Fact]
    public async Task CollectAsync_Replica_ReportsItsOwnSettings()
    {
        await using var collector = TestCollector.Create(fixture.Cluster.Replicas[0], new ManualTimeProvider(), new CollectionOptions { SlowInterval = SlowInterval });

        var snapshot = await collector.CollectAsync();

        Assert.Empty(snapshot.CollectionErrors);
        Assert.Equal(NodeRole.Replica, snapshot.Role);
        Assert.Equal(1, Setting(snapshot, "in_hot_standby").Value);
        Assert.Equal(1, Setting(snapshot, "hot_standby").Value);
    }

    [Fact]
    public async Task CollectAsync_ReloadedSetting_ShowsAtTheNextSlowRefreshAndNotBefore()
    {
        var time = new ManualTimeProvider();
        await using var collector = TestCollector.Create(Primary, time, new CollectionOptions { SlowInterval = SlowInterval });
        var first = await collector.CollectAsync();
        var before = Setting(first, "work_mem").Value;
        const long NewWorkMemKb = 12_345;
        Assert.NotEqual(NewWorkMemKb * 1024, before);

        try
        {
            await Sql.ExecuteAsync(Primary, $"ALTER SYSTEM SET work_mem = '{NewWorkMemKb}kB'");
            await Sql.ExecuteAsync(Primary, "SELECT pg_reload_conf()");

            // A new session sees the new value once the postmaster has reloaded, and by then it has signalled
            // every running backend (the agent's session too) to reload before its next statement.
            await Polling.UntilAsync(
                async _ => await Sql.ScalarAsync<string>(Primary, "SELECT setting FROM pg_settings WHERE name = 'work_mem'") == $"{NewWorkMemKb}",
                Condition,
                "the reload to take effect");

            time.Advance(TimeSpan.FromMinutes(1));
            var batches = collector.Batches;
            var fast = await collector.CollectAsync();
            Assert.Equal(1, collector.Batches - batches); // settings are not read in the fast cycle ...
            Assert.Equal(before, Setting(fast, "work_mem").Value); // ... so the carried value is still the old one
            Assert.Equal(first.Settings.AsOf, fast.Settings.AsOf);

            time.Advance(SlowInterval - TimeSpan.FromMinutes(1));
            var refreshed = await collector.CollectAsync();

            Assert.Empty(refreshed.CollectionErrors);
            Assert.Equal(NewWorkMemKb * 1024, Setting(refreshed, "work_mem").Value);
            Assert.Equal(Timestamp.FromDateTimeOffset(time.Start + SlowInterval), refreshed.Settings.AsOf);
        }
        finally
        {
            await Sql.ExecuteAsync(Primary, "ALTER SYSTEM RESET work_mem");
            await Sql.ExecuteAsync(Primary, "SELECT pg_reload_conf()");
            await Polling.UntilAsync(
                async _ => await Sql.ScalarAsync<string>(Primary, "SELECT setting FROM pg_settings WHERE name = 'work_mem'") != $"{NewWorkMemKb}",
                Condition,
                "work_mem to be reset");
        }
    }

    private static NodeSnapshot.Types.Setting Setting(NodeSnapshot snapshot, string name) =>
        Assert.Single(snapshot.Settings.Items, setting => setting.Name == name);
}
