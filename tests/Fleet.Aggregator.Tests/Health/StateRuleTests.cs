using Fleet.Aggregator.Health;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using static Fleet.Aggregator.Tests.Health.HealthTestData;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>The rules that test a state rather than a threshold.</summary>
public class StateRuleTests
{
    [Theory]
    [InlineData(PostgresState.Up, ConditionState.Clear)]
    [InlineData(PostgresState.Down, ConditionState.Holds)]
    [InlineData(PostgresState.Starting, ConditionState.Holds)]
    [InlineData(PostgresState.Stopping, ConditionState.Holds)]
    [InlineData(PostgresState.Unreachable, ConditionState.Holds)]
    [InlineData(PostgresState.Unresponsive, ConditionState.Holds)]
    public void Evaluate_PostgresState_PostgresDownHoldsUnlessUp(PostgresState state, ConditionState expected)
    {
        var snapshot = HealthyPrimary();
        snapshot.PostgresState = state;
        snapshot.PostgresError = state == PostgresState.Up ? string.Empty : "connection refused";

        var observation = Assert.Single(Observe("postgres_down", Input(snapshot, T0), T0)!);

        Assert.Equal(expected, observation.State);
    }

    [Fact]
    public void Describe_PostgresDown_IncludesError()
    {
        var snapshot = HealthyPrimary();
        snapshot.PostgresState = PostgresState.Down;
        snapshot.PostgresError = "connection refused";
        var observation = Assert.Single(Observe("postgres_down", Input(snapshot, T0), T0)!);

        Assert.Equal("Postgres is down: connection refused", Rule("postgres_down").Describe(observation));
    }

    [Fact]
    public void Describe_PostgresUnresponsive_SaysWhatItMeans()
    {
        var snapshot = HealthyPrimary();
        snapshot.PostgresState = PostgresState.Unresponsive;
        snapshot.PostgresError = "PostgreSQL has not answered the agent's ping for 1500 ms (frozen, stalled or overloaded)";
        var observation = Assert.Single(Observe("postgres_down", Input(snapshot, T0), T0)!);

        Assert.StartsWith("Postgres is unresponsive (frozen, stalled or overloaded: it does not answer the agent's ping): PostgreSQL has not answered",
            Rule("postgres_down").Describe(observation), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", ConditionState.Clear)]
    [InlineData("wal_receiver_timeout is 60000 ms, longer than the aggregator's replication timeout of 2000 ms", ConditionState.Holds)]
    public void Evaluate_DetectionProblem_FailureDetectionSlowHoldsWhileReported(string problem, ConditionState expected)
    {
        var snapshot = HealthyReplica();
        snapshot.DetectionProblem = problem;

        var observation = Assert.Single(Observe("failure_detection_slow", Input(snapshot, T0), T0)!);

        Assert.Equal(expected, observation.State);
        if (expected == ConditionState.Holds)
        {
            Assert.Equal($"failure detection is slow: {problem}", Rule("failure_detection_slow").Describe(observation));
        }
    }

    [Fact]
    public void Evaluate_PostgresStateNotCollectedYet_NoData()
    {
        var snapshot = HealthyPrimary();
        snapshot.PostgresState = PostgresState.Unspecified;

        Assert.Null(Observe("postgres_down", Input(snapshot, T0), T0));
        Assert.Null(Observe("postgres_down", Input(null, T0), T0));
    }

    [Theory]
    [InlineData("streaming", false)]
    [InlineData("waiting", true)]
    [InlineData("starting", true)]
    [InlineData(null, true)]
    public void Evaluate_ReplicaWalReceiver_NotStreamingHoldsUnlessStreaming(string? status, bool holds)
    {
        var snapshot = HealthyReplica();
        snapshot.Replica.WalReceiver = status is null ? null : new NodeSnapshot.Types.WalReceiver { Status = status };

        var observation = Assert.Single(Observe("replica_not_streaming", Input(snapshot, T0), T0)!);

        Assert.Equal(holds ? ConditionState.Holds : ConditionState.Clear, observation.State);
    }

    /// <summary>One subject per slot: an inactive slot holds replication_slot_inactive, a lost one replication_slot_lost.</summary>
    [Theory]
    [InlineData(true, "reserved", false, false)]
    [InlineData(false, "reserved", true, false)]
    [InlineData(false, "extended", true, false)]
    [InlineData(true, "unreserved", false, false)]
    [InlineData(false, "lost", true, true)]
    public void Evaluate_ReplicationSlots_InactiveAndLostPerSlot(bool active, string walStatus, bool inactiveHolds, bool lostHolds)
    {
        var snapshot = HealthyPrimary();
        snapshot.Slots.Add(new NodeSnapshot.Types.ReplicationSlot { SlotName = "orders_db_2", SlotType = "physical", Active = true, WalStatus = "reserved", RetainedBytes = 1 });
        snapshot.Slots.Add(new NodeSnapshot.Types.ReplicationSlot { SlotName = "orders_db_3", SlotType = "physical", Active = active, WalStatus = walStatus, RetainedBytes = 3L << 30 });

        var inactive = Observe("replication_slot_inactive", Input(snapshot, T0), T0)!;
        var lost = Observe("replication_slot_lost", Input(snapshot, T0), T0)!;

        Assert.Equal(["orders_db_2", "orders_db_3"], inactive.Select(o => o.Subject));
        Assert.Equal([ConditionState.Clear, inactiveHolds ? ConditionState.Holds : ConditionState.Clear], inactive.Select(o => o.State));
        Assert.Equal([ConditionState.Clear, lostHolds ? ConditionState.Holds : ConditionState.Clear], lost.Select(o => o.State));
        if (inactiveHolds)
        {
            Assert.Equal("replication slot orders_db_3 has no consumer and retains 3072 MiB of WAL", Rule("replication_slot_inactive").Describe(inactive[1]));
        }
    }

    /// <summary>A primary that requires a synchronous standby and has none in sync or quorum state: commits wait.</summary>
    [Theory]
    [InlineData("", "async", false)]
    [InlineData("FIRST 1 (orders-db-2)", "sync", false)]
    [InlineData("ANY 1 (orders-db-2)", "quorum", false)]
    [InlineData("FIRST 1 (orders-db-2)", "potential", true)]
    [InlineData("FIRST 1 (orders-db-2)", "async", true)]
    [InlineData("FIRST 1 (orders-db-2)", null, true)]
    public void Evaluate_SynchronousStandbyNames_MissingHoldsWithoutASyncStandby(string names, string? syncState, bool holds)
    {
        var snapshot = HealthyPrimary();
        snapshot.Primary.SynchronousStandbyNames = names;
        if (syncState is null)
        {
            snapshot.Standbys.Clear();
        }
        else
        {
            snapshot.Standbys[0].SyncState = syncState;
        }

        var observation = Assert.Single(Observe("synchronous_standby_missing", Input(snapshot, T0), T0)!);

        Assert.Equal(holds ? ConditionState.Holds : ConditionState.Clear, observation.State);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("orders-db-3", true)]
    public void Evaluate_OtherWritablePrimary_SplitBrainHoldsAndNamesIt(string? other, bool holds)
    {
        var input = Input(HealthyPrimary(), T0) with { OtherWritablePrimary = other };

        var observation = Assert.Single(Observe("split_brain", input, T0)!);

        Assert.Equal(holds ? ConditionState.Holds : ConditionState.Clear, observation.State);
        if (holds)
        {
            Assert.Equal("this node and orders-db-3 both accept writes (up primaries, not fenced): two timelines may be diverging", Rule("split_brain").Describe(observation));
        }
    }

    /// <summary>A primary's archive settings against the standards: archive_mode on, archive_timeout set and at most 60 s.</summary>
    [Theory]
    [InlineData("on", 60.0, false, "archive_timeout is 60 s <= 60 s")]
    [InlineData("on", 30.0, false, "archive_timeout is 30 s <= 60 s")]
    [InlineData("on", 61.0, true, "archive_timeout is 61 s > 60 s")]
    [InlineData("always", 300.0, true, "archive_timeout is 300 s > 60 s")]
    [InlineData("on", 0.0, true, "archive_timeout is off: an idle primary's last commits wait for a full segment before they are archived (at most 60 s wanted)")]
    [InlineData("on", null, false, "archive_timeout not read yet")]
    [InlineData("off", 60.0, true, "archive_mode is off: no WAL archive, no point-in-time recovery")]
    public void Evaluate_PrimaryArchiveSettings_HoldUnlessArchivingWithATimeoutOfAtMost60s(string mode, double? timeout, bool holds, string description)
    {
        var snapshot = HealthyPrimary();
        snapshot.Archiver.ArchiveMode = mode;
        if (timeout is { } seconds)
        {
            snapshot.Settings = new NodeSnapshot.Types.Settings { Items = { new NodeSnapshot.Types.Setting { Name = "archive_timeout", Value = seconds, Unit = "seconds" } } };
        }

        var observation = Assert.Single(Observe("archive_settings", Input(snapshot, T0), T0)!);

        Assert.Equal(holds ? ConditionState.Holds : ConditionState.Clear, observation.State);
        Assert.Equal(description, Rule("archive_settings").Describe(observation));
    }

    [Fact]
    public void Evaluate_Replica_ArchiveSettingsClear()
    {
        var snapshot = HealthyReplica();
        snapshot.Archiver = new NodeSnapshot.Types.Archiver { ArchiveMode = "off" };

        Assert.Equal(ConditionState.Clear, Assert.Single(Observe("archive_settings", Input(snapshot, T0), T0)!).State);
    }

    [Fact]
    public void Evaluate_Replica_SynchronousStandbyMissingClear()
    {
        var observation = Assert.Single(Observe("synchronous_standby_missing", Input(HealthyReplica(), T0), T0)!);

        Assert.Equal(ConditionState.Clear, observation.State);
    }

    [Fact]
    public void Evaluate_PostgresNotUp_SlotRulesHaveNoData()
    {
        var snapshot = HealthyPrimary();
        snapshot.PostgresState = PostgresState.Down;

        Assert.Null(Observe("replication_slot_inactive", Input(snapshot, T0), T0));
        Assert.Null(Observe("replication_slot_lost", Input(snapshot, T0), T0));
    }

    [Fact]
    public void Evaluate_PrimaryNode_ReplicaNotStreamingClear()
    {
        var observation = Assert.Single(Observe("replica_not_streaming", Input(HealthyPrimary(), T0), T0)!);

        Assert.Equal(ConditionState.Clear, observation.State);
    }

    [Theory]
    [InlineData(-60, true)] // last failure a minute after the last success
    [InlineData(60, false)] // last success a minute after the last failure
    [InlineData(null, true)] // never archived, but failed
    public void Evaluate_ArchiverFailureTimes_FailingWhenFailureIsNewest(int? successOffsetSeconds, bool holds)
    {
        var snapshot = HealthyPrimary();
        snapshot.Archiver.FailedCount = 3;
        snapshot.Archiver.LastFailedWal = "000000010000000000000002";
        snapshot.Archiver.LastFailedTime = Timestamp.FromDateTimeOffset(T0);
        snapshot.Archiver.LastArchivedTime = successOffsetSeconds is { } offset ? Timestamp.FromDateTimeOffset(T0.AddSeconds(offset)) : null;

        var observation = Assert.Single(Observe("archive_failing", Input(snapshot, T0), T0)!);

        Assert.Equal(holds ? ConditionState.Holds : ConditionState.Clear, observation.State);
        Assert.Equal(3, observation.Value);
    }

    [Fact]
    public void Evaluate_ReplicaWithArchiveModeOn_ArchiveRulesClear()
    {
        var snapshot = HealthyReplica();
        snapshot.Archiver = new NodeSnapshot.Types.Archiver { ArchiveMode = "on", LastFailedTime = Timestamp.FromDateTimeOffset(T0) };

        Assert.Equal(ConditionState.Clear, Assert.Single(Observe("archive_failing", Input(snapshot, T0), T0)!).State);
        Assert.Equal(ConditionState.Clear, Assert.Single(Observe("rpo_exposure_high", Input(snapshot, T0), T0, new NodeHistory())!).State);
    }

    [Theory]
    [InlineData(ArchiveVerdict.Ok, false, false)]
    [InlineData(ArchiveVerdict.Warning, false, true)]
    [InlineData(ArchiveVerdict.Failure, true, false)]
    public void Evaluate_ArchiveVerdict_MatchingRuleHolds(ArchiveVerdict verdict, bool failureHolds, bool warningHolds)
    {
        var archive = ArchiveOk();
        archive.Verdict = verdict;
        archive.FirstProblem = new Finding { Code = "wal_gap", Message = "segment 000000010000000000000003 missing" };
        var input = Input(HealthyPrimary(), T0, archive: archive);

        var failure = Assert.Single(Observe("archive_verification_failure", input, T0)!);
        var warning = Assert.Single(Observe("archive_verification_warning", input, T0)!);

        Assert.Equal(failureHolds ? ConditionState.Holds : ConditionState.Clear, failure.State);
        Assert.Equal(warningHolds ? ConditionState.Holds : ConditionState.Clear, warning.State);
    }

    [Fact]
    public void Describe_ArchiveVerificationFailure_CarriesFirstProblem()
    {
        var archive = ArchiveOk();
        archive.Verdict = ArchiveVerdict.Failure;
        archive.FirstProblem = new Finding { Code = "wal_gap", Message = "segment 000000010000000000000003 missing" };
        var observation = Assert.Single(Observe("archive_verification_failure", Input(HealthyPrimary(), T0, archive: archive), T0)!);

        Assert.Equal(
            "archive verification FAILURE: wal_gap: segment 000000010000000000000003 missing",
            Rule("archive_verification_failure").Describe(observation));
    }

    [Theory]
    [InlineData("kr-central", null, false)]
    [InlineData("KR-CENTRAL", null, false)]
    [InlineData("us-east", null, true)]
    [InlineData("", null, false)]
    [InlineData("", "archive_out_of_region", true)]
    public void Evaluate_ArchiveRegion_OutOfRegionWhenForeign(string archiveRegion, string? findingCode, bool holds)
    {
        var archive = ArchiveOk();
        archive.ArchiveRegion = archiveRegion;
        if (findingCode is not null)
        {
            archive.Findings.Add(new Finding { Severity = Severity.Critical, Code = findingCode });
        }

        var observation = Assert.Single(Observe("archive_out_of_region", Input(HealthyPrimary(), T0, archive: archive), T0)!);

        Assert.Equal(holds ? ConditionState.Holds : ConditionState.Clear, observation.State);
    }

    [Fact]
    public void Evaluate_NoArchiveStatus_ArchiveStatusRulesHaveNoData()
    {
        var input = Input(HealthyPrimary(), T0);

        Assert.Null(Observe("archive_verification_failure", input, T0));
        Assert.Null(Observe("archive_verification_warning", input, T0));
        Assert.Null(Observe("archive_out_of_region", input, T0));
    }

    [Fact]
    public void Describe_AgentSilentOnClosedStream_SaysSo()
    {
        var input = Input(HealthyPrimary(), T0, connected: false);
        var observation = Assert.Single(Observe("agent_silent", input, T0.AddSeconds(42))!);

        Assert.Equal("no report from the agent for 42 s > 15 s (stream closed)", Rule("agent_silent").Describe(observation));
    }
}
