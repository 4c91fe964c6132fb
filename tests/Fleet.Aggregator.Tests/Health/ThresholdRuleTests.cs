using Fleet.Aggregator.Health;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using static Fleet.Aggregator.Tests.Health.HealthTestData;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>Every default threshold rule, just below, exactly at, and just above its threshold.</summary>
public class ThresholdRuleTests
{
    [Theory]
    [InlineData("agent_silent", 14.9, false)]
    [InlineData("agent_silent", 15, false)]
    [InlineData("agent_silent", 15.1, true)]
    [InlineData("replication_lag_warning", 4.9, false)]
    [InlineData("replication_lag_warning", 5, false)]
    [InlineData("replication_lag_warning", 5.1, true)]
    [InlineData("replication_lag_critical", 299, false)]
    [InlineData("replication_lag_critical", 300, false)]
    [InlineData("replication_lag_critical", 301, true)]
    [InlineData("connections_high", 79, false)]
    [InlineData("connections_high", 80, false)]
    [InlineData("connections_high", 81, true)]
    [InlineData("buffer_hit_ratio_warning", 95.1, false)]
    [InlineData("buffer_hit_ratio_warning", 95, false)]
    [InlineData("buffer_hit_ratio_warning", 94.9, true)]
    [InlineData("buffer_hit_ratio_critical", 90.1, false)]
    [InlineData("buffer_hit_ratio_critical", 90, false)]
    [InlineData("buffer_hit_ratio_critical", 89.9, true)]
    [InlineData("dead_tuples_high", 9.9, false)]
    [InlineData("dead_tuples_high", 10, false)]
    [InlineData("dead_tuples_high", 10.1, true)]
    [InlineData("table_bloat_high", 24.9, false)]
    [InlineData("table_bloat_high", 25, false)]
    [InlineData("table_bloat_high", 25.1, true)]
    [InlineData("deadlocks_high", 4, false)]
    [InlineData("deadlocks_high", 5, false)]
    [InlineData("deadlocks_high", 6, true)]
    [InlineData("long_transaction", 3599, false)]
    [InlineData("long_transaction", 3600, false)]
    [InlineData("long_transaction", 3601, true)]
    [InlineData("idle_in_transaction_long", 1799, false)]
    [InlineData("idle_in_transaction_long", 1800, false)]
    [InlineData("idle_in_transaction_long", 1801, true)]
    [InlineData("checksum_failure", 86401, false)]
    [InlineData("checksum_failure", 86400, false)]
    [InlineData("checksum_failure", 86399, true)]
    [InlineData("wraparound_risk", 49.9, false)]
    [InlineData("wraparound_risk", 50, false)]
    [InlineData("wraparound_risk", 50.1, true)]
    [InlineData("rpo_exposure_high", 299, false)]
    [InlineData("rpo_exposure_high", 300, false)]
    [InlineData("rpo_exposure_high", 301, true)]
    [InlineData("cpu_high", 79.9, false)]
    [InlineData("cpu_high", 80, false)]
    [InlineData("cpu_high", 80.1, true)]
    [InlineData("memory_high", 84, false)]
    [InlineData("memory_high", 85, false)]
    [InlineData("memory_high", 86, true)]
    [InlineData("disk_usage_warning", 74, false)]
    [InlineData("disk_usage_warning", 75, false)]
    [InlineData("disk_usage_warning", 76, true)]
    [InlineData("disk_usage_critical", 89, false)]
    [InlineData("disk_usage_critical", 90, false)]
    [InlineData("disk_usage_critical", 91, true)]
    public void Evaluate_ValueAroundDefaultThreshold_HoldsOnlyBeyondIt(string rule, double value, bool holds)
    {
        var (input, now, history) = Scenario(rule, value);

        var observations = Observe(rule, input, now, history);

        Assert.NotNull(observations);
        var observation = Assert.Single(observations);
        Assert.Equal(holds ? ConditionState.Holds : ConditionState.Clear, observation.State);
        Assert.Equal(value, observation.Value!.Value, 6);
    }

    /// <summary>No open transaction (the gauges absent) is a clear condition at 0 s, not missing data.</summary>
    [Theory]
    [InlineData("long_transaction")]
    [InlineData("idle_in_transaction_long")]
    public void Evaluate_NoOpenTransaction_ClearAtZero(string rule)
    {
        var observation = Assert.Single(Observe(rule, Input(HealthyPrimary(), T0), T0)!);

        Assert.Equal(ConditionState.Clear, observation.State);
        Assert.Equal(0, observation.Value);
    }

    [Fact]
    public void Evaluate_ChecksumFailure_OneSubjectPerDatabase_NeverFailedIsClear()
    {
        var snapshot = HealthyPrimary();
        snapshot.Databases.Add(new NodeSnapshot.Types.Database { Name = "ledger", ChecksumFailures = 1, ChecksumLastFailure = Timestamp.FromDateTimeOffset(T0.AddMinutes(-5)) });

        var observations = Observe("checksum_failure", Input(snapshot, T0), T0)!;

        Assert.Equal(["app", "ledger"], observations.Select(o => o.Subject));
        Assert.Equal([ConditionState.Clear, ConditionState.Holds], observations.Select(o => o.State));
        Assert.Equal("database ledger had a data checksum failure 300 s ago (1 in all since the statistics reset): storage returned a corrupted page",
            Rule("checksum_failure").Describe(observations[1]));
        Assert.Equal("no data checksum failure in database app", Rule("checksum_failure").Describe(observations[0]));
    }

    [Fact]
    public void Describe_IdleInTransaction_SaysWhatIsMeasured()
    {
        var snapshot = HealthyPrimary();
        snapshot.Connections.LongestIdleInTransactionSeconds = 2400;
        var observation = Assert.Single(Observe("idle_in_transaction_long", Input(snapshot, T0), T0)!);

        Assert.Equal("longest idle-in-transaction session 2400 s > 1800 s", Rule("idle_in_transaction_long").Describe(observation));
    }

    [Fact]
    public void Describe_LagAboveThreshold_NamesStandbyValueAndThreshold()
    {
        var input = Input(WithStandbyLag(("orders-db-2", 12.34)), T0);
        var observation = Assert.Single(Observe("replication_lag_warning", input, T0)!);

        Assert.Equal("standby orders-db-2 replay lag 12.3 s > 5 s", Rule("replication_lag_warning").Describe(observation));
    }

    [Fact]
    public void Evaluate_SeveralStandbys_OneObservationPerStandby()
    {
        var input = Input(WithStandbyLag(("orders-db-2", 1), ("orders-db-3", 9)), T0);

        var observations = Observe("replication_lag_warning", input, T0)!;

        Assert.Equal(["orders-db-2", "orders-db-3"], observations.Select(o => o.Subject));
        Assert.Equal([ConditionState.Clear, ConditionState.Holds], observations.Select(o => o.State));
    }

    [Fact]
    public void Evaluate_StandbyIdleWithoutLag_CountsAsCaughtUp()
    {
        var snapshot = HealthyPrimary();
        snapshot.Standbys[0].ClearReplayLagSeconds();

        var observation = Assert.Single(Observe("replication_lag_warning", Input(snapshot, T0), T0)!);

        Assert.Equal(ConditionState.Clear, observation.State);
        Assert.Equal(0, observation.Value);
    }

    [Theory]
    [InlineData("replication_lag_warning")]
    [InlineData("connections_high")]
    [InlineData("buffer_hit_ratio_warning")]
    [InlineData("deadlocks_high")]
    [InlineData("archive_failing")]
    [InlineData("rpo_exposure_high")]
    [InlineData("replica_not_streaming")]
    public void Evaluate_PostgresDown_RuleHasNoData(string rule)
    {
        var snapshot = HealthyPrimary();
        snapshot.PostgresState = PostgresState.Down;

        Assert.Null(Observe(rule, Input(snapshot, T0), T0, new NodeHistory()));
    }

    [Fact]
    public void Evaluate_NoStandbyRowsAndCollectionError_RuleHasNoData()
    {
        var snapshot = WithStandbyLag();
        snapshot.CollectionErrors.Add("replication: canceling statement due to statement timeout");

        Assert.Null(Observe("replication_lag_warning", Input(snapshot, T0), T0));
    }

    [Fact]
    public void Evaluate_DatabaseWithoutIntervalRatio_ObservationUnknown()
    {
        var snapshot = HealthyPrimary();
        snapshot.Databases[0].ClearIntervalHitRatio();
        snapshot.Databases[0].HitRatio = 0.5;

        var observation = Assert.Single(Observe("buffer_hit_ratio_critical", Input(snapshot, T0), T0)!);

        Assert.Equal(ConditionState.Unknown, observation.State);
    }

    [Theory]
    [InlineData(10, ConditionState.Clear)] // an idle database touching a few cold pages: not judged, fine
    [InlineData(99.9, ConditionState.Clear)]
    [InlineData(100, ConditionState.Holds)] // from 100 blocks read a second the ratio counts
    [InlineData(5000, ConditionState.Holds)]
    public void Evaluate_LowRatio_JudgedOnlyWithEnoughBlocksRead(double blocksReadPerSecond, ConditionState expected)
    {
        var snapshot = HealthyPrimary();
        snapshot.Databases[0].IntervalHitRatio = 0.5;
        snapshot.Databases[0].BlocksReadPerSecond = blocksReadPerSecond;

        var observation = Assert.Single(Observe("buffer_hit_ratio_critical", Input(snapshot, T0), T0)!);

        Assert.Equal(expected, observation.State);
        Assert.Equal(50, observation.Value);
        var described = Rule("buffer_hit_ratio_critical").Describe(observation);
        Assert.Equal(expected == ConditionState.Clear, described.EndsWith("with fewer than 100 blocks read a second: too little I/O to judge", StringComparison.Ordinal));
    }

    [Fact]
    public void Evaluate_TableSmallerThanMinTableBytes_Ignored()
    {
        var snapshot = HealthyPrimary();
        snapshot.TableHealth = new NodeSnapshot.Types.TableHealth
        {
            TopTables =
            {
                new NodeSnapshot.Types.TableStats { Database = "app", Name = "public.tiny", DeadRatio = 0.9, TotalBytes = 8192 },
                new NodeSnapshot.Types.TableStats { Database = "app", Name = "public.orders", DeadRatio = 0.2, TotalBytes = 1L << 30 },
            },
        };

        var observations = Observe("dead_tuples_high", Input(snapshot, T0), T0)!;

        var observation = Assert.Single(observations);
        Assert.Equal("app.public.orders", observation.Subject);
        Assert.Equal(ConditionState.Holds, observation.State);
    }

    [Fact]
    public void Evaluate_IdlePrimaryLongAfterLastArchive_RpoExposureClear()
    {
        var history = new NodeHistory();
        var snapshot = HealthyPrimary();
        history.Observe(snapshot, T0);
        var now = T0.AddHours(1);
        history.Observe(snapshot, now); // same WAL position: nothing written since the archival

        var observation = Assert.Single(Observe("rpo_exposure_high", Input(snapshot, now), now, history)!);

        Assert.Equal(ConditionState.Clear, observation.State);
        Assert.Equal(3600, observation.Value);
        Assert.Contains("no WAL was written since", Rule("rpo_exposure_high").Describe(observation), StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_DeadlockCounterReset_WindowStartsAgain()
    {
        var history = new NodeHistory();
        history.Observe(Deadlocks(100), T0);
        history.Observe(Deadlocks(110), T0.AddMinutes(5));
        Assert.True(history.TryGetDeadlocksInWindow(out var before));
        Assert.Equal(10, before);

        history.Observe(Deadlocks(2), T0.AddMinutes(6)); // pg_stat_reset()

        Assert.True(history.TryGetDeadlocksInWindow(out var after));
        Assert.Equal(0, after);
    }

    [Fact]
    public void Evaluate_DeadlocksOlderThanAnHour_NoLongerCounted()
    {
        var history = new NodeHistory();
        history.Observe(Deadlocks(0), T0);
        history.Observe(Deadlocks(10), T0.AddMinutes(1)); // ten deadlocks in the first minutes
        for (var minute = 2; minute <= 62; minute++)
        {
            history.Observe(Deadlocks(10), T0.AddMinutes(minute));
        }

        Assert.True(history.TryGetDeadlocksInWindow(out var count));
        Assert.Equal(0, count);
    }

    private static NodeSnapshot Deadlocks(ulong total)
    {
        var snapshot = HealthyPrimary();
        snapshot.Databases[0].Deadlocks = total;
        return snapshot;
    }

    /// <summary>A node view whose measured value for <paramref name="rule"/> is <paramref name="value"/>.</summary>
    private static (NodeHealthInput Input, DateTimeOffset Now, NodeHistory? History) Scenario(string rule, double value)
    {
        var snapshot = HealthyPrimary();
        switch (rule)
        {
            case "agent_silent":
                return (Input(snapshot, T0), T0.AddSeconds(value), null);
            case "replication_lag_warning" or "replication_lag_critical":
                snapshot.Standbys[0].ReplayLagSeconds = value;
                break;
            case "connections_high":
                snapshot.Connections.Total = (uint)value;
                break;
            case "buffer_hit_ratio_warning" or "buffer_hit_ratio_critical":
                snapshot.Databases[0].IntervalHitRatio = value / 100;
                break;
            case "dead_tuples_high" or "table_bloat_high":
                var table = new NodeSnapshot.Types.TableStats { Database = "app", Name = "public.orders", TotalBytes = 1L << 30 };
                if (rule == "dead_tuples_high")
                {
                    table.DeadRatio = value / 100;
                }
                else
                {
                    table.EstimatedBloatRatio = value / 100;
                }

                snapshot.TableHealth = new NodeSnapshot.Types.TableHealth { TopTables = { table } };
                break;
            case "deadlocks_high":
                var deadlocks = new NodeHistory();
                deadlocks.Observe(snapshot, T0);
                snapshot.Databases[0].Deadlocks = (ulong)value;
                deadlocks.Observe(snapshot, T0.AddMinutes(10));
                return (Input(snapshot, T0.AddMinutes(10)), T0.AddMinutes(10), deadlocks);
            case "checksum_failure":
                snapshot.Databases[0].ChecksumFailures = 3;
                snapshot.Databases[0].ChecksumLastFailure = Timestamp.FromDateTimeOffset(T0.AddSeconds(-value));
                break;
            case "wraparound_risk":
                snapshot.Wraparound = new NodeSnapshot.Types.Wraparound { Database = "app", PercentTowardsWraparound = value, MaxDatfrozenxidAge = (ulong)(value / 100 * 2147483648.0) };
                break;
            case "long_transaction":
                snapshot.Connections.LongestTransactionSeconds = value;
                break;
            case "idle_in_transaction_long":
                snapshot.Connections.LongestIdleInTransactionSeconds = value;
                break;
            case "rpo_exposure_high":
                var wal = new NodeHistory();
                wal.Observe(snapshot, T0);
                snapshot.Primary.CurrentLsn += 0x100; // WAL written after the last archival
                var now = T0.AddSeconds(value);
                wal.Observe(snapshot, now);
                return (Input(snapshot, now), now, wal);
            case "cpu_high":
                snapshot.Host.CpuPercent = value;
                break;
            case "memory_high":
                snapshot.Host.MemoryUsedBytes = (ulong)value;
                break;
            case "disk_usage_warning" or "disk_usage_critical":
                snapshot.Host.DiskUsedBytes = (ulong)value;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(rule), rule, "no scenario");
        }

        return (Input(snapshot, T0), T0, null);
    }
}
