using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health.Rules;

internal static class Archiving
{
    internal const string NotArchiving = "not archiving";

    /// <summary>
    /// Whether this node archives WAL itself: archive_mode "always", or "on" on a primary (a replica
    /// with "on" leaves archiving to the primary).
    /// </summary>
    internal static bool ArchivesHere(NodeSnapshot snapshot, NodeSnapshot.Types.Archiver archiver) =>
        string.Equals(archiver.ArchiveMode, "always", StringComparison.OrdinalIgnoreCase)
        || (string.Equals(archiver.ArchiveMode, "on", StringComparison.OrdinalIgnoreCase) && snapshot.Role == NodeRole.Primary);

    internal static bool IsNewer(Google.Protobuf.WellKnownTypes.Timestamp a, Google.Protobuf.WellKnownTypes.Timestamp b) =>
        a.Seconds > b.Seconds || (a.Seconds == b.Seconds && a.Nanos > b.Nanos);
}

/// <summary>
/// archive_failing: pg_stat_archiver's last failure is newer than its last success (or there was
/// never a success): the archiver is failing right now. Value: failed_count since the statistics reset.
/// </summary>
internal sealed class ArchiveFailingRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is not { PostgresState: PostgresState.Up, Archiver: { } archiver })
        {
            return false;
        }

        if (!Archiving.ArchivesHere(snapshot, archiver))
        {
            observations.Add(new RuleObservation(string.Empty, ConditionState.Clear, null, Archiving.NotArchiving));
            return true;
        }

        var failed = archiver.LastFailedTime;
        var archived = archiver.LastArchivedTime;
        var failing = failed is not null && (archived is null || Archiving.IsNewer(failed, archived));
        observations.Add(new RuleObservation(
            string.Empty,
            failing ? ConditionState.Holds : ConditionState.Clear,
            archiver.FailedCount,
            archiver.LastFailedWal,
            archiver.LastArchivedWal));
        return true;
    }

    public override string Describe(in RuleObservation observation)
    {
        if (observation.State == ConditionState.Holds)
        {
            var lastSuccess = observation.Note is { Length: > 0 } wal ? wal : "none since the statistics reset";
            return Invariant(
                $"WAL archiving is failing: archiving {observation.Detail} failed after the last success ({lastSuccess}); {observation.Value ?? 0:0} failures since the statistics reset");
        }

        return ReferenceEquals(observation.Detail, Archiving.NotArchiving)
            ? "this node does not archive WAL (archive_mode)"
            : "WAL archiving succeeds again";
    }
}

/// <summary>
/// rpo_exposure_high: seconds since the last WAL segment was archived, counted only while WAL has
/// been written since that archival (an idle server completes no segment and risks nothing).
/// </summary>
internal sealed class RpoExposureRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    private const string NoNewWal = "no new WAL";

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is not { PostgresState: PostgresState.Up, Archiver: { } archiver })
        {
            return false;
        }

        if (!Archiving.ArchivesHere(snapshot, archiver))
        {
            observations.Add(new RuleObservation(string.Empty, ConditionState.Clear, null, Archiving.NotArchiving));
            return true;
        }

        if (archiver.LastArchivedTime is null || context.History is not { } history)
        {
            return false;
        }

        var exposure = Math.Max(0, (context.Now - archiver.LastArchivedTime.ToDateTimeOffset()).TotalSeconds);
        observations.Add(history.WalWrittenSinceLastArchive
            ? Observe(string.Empty, exposure, archiver.LastArchivedWal)
            : new RuleObservation(string.Empty, ConditionState.Clear, exposure, archiver.LastArchivedWal, NoNewWal));
        return true;
    }

    public override string Describe(in RuleObservation observation)
    {
        if (ReferenceEquals(observation.Detail, Archiving.NotArchiving))
        {
            return "this node does not archive WAL (archive_mode)";
        }

        if (ReferenceEquals(observation.Note, NoNewWal))
        {
            return $"{FormatValue(observation.Value ?? 0, RuleUnit.Seconds)} since the last archived segment, but no WAL was written since: nothing at risk";
        }

        return base.Describe(observation);
    }

    protected override string Label(in RuleObservation observation) => "time since the last archived WAL segment";

    protected override string? Suffix(in RuleObservation observation) =>
        observation.Detail is { Length: > 0 } wal ? $"last archived {wal}" : null;
}

/// <summary>archive_verification_failure / archive_verification_warning: the agent's latest archive verdict.</summary>
internal sealed class ArchiveVerdictRule(AlertRuleDefinition definition, ArchiveVerdict verdict) : HealthRule(definition)
{
    private readonly string _verdictName = verdict == ArchiveVerdict.Failure ? "FAILURE" : "WARNING";

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var archive = context.Input.Archive;
        if (archive is null || archive.Verdict == ArchiveVerdict.Unspecified)
        {
            return false;
        }

        var problem = archive.FirstProblem;
        observations.Add(new RuleObservation(
            string.Empty,
            archive.Verdict == verdict ? ConditionState.Holds : ConditionState.Clear,
            null,
            problem?.Message,
            problem?.Code));
        return true;
    }

    public override string Describe(in RuleObservation observation)
    {
        if (observation.State != ConditionState.Holds)
        {
            return $"archive verification no longer reports {_verdictName}";
        }

        return observation.Detail is { Length: > 0 } message
            ? $"archive verification {_verdictName}: {observation.Note}: {message}"
            : $"archive verification {_verdictName}";
    }
}

/// <summary>
/// archive_out_of_region: the WAL archive lives outside the node's region (data sovereignty), from
/// ArchiveStatus.archive_region or the agent's own archive_out_of_region finding.
/// </summary>
internal sealed class ArchiveOutOfRegionRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    internal const string FindingCode = "archive_out_of_region";

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var archive = context.Input.Archive;
        if (archive is null)
        {
            return false;
        }

        var region = context.Input.Region;
        var outside = archive.ArchiveRegion.Length > 0 && region.Length > 0
            && !string.Equals(archive.ArchiveRegion, region, StringComparison.OrdinalIgnoreCase);
        var findings = archive.Findings;
        for (var i = 0; i < findings.Count && !outside; i++)
        {
            outside = findings[i].Code == FindingCode;
        }

        observations.Add(new RuleObservation(
            string.Empty,
            outside ? ConditionState.Holds : ConditionState.Clear,
            null,
            archive.ArchiveLocation,
            archive.ArchiveRegion));
        return true;
    }

    public override string Describe(in RuleObservation observation)
    {
        if (observation.State != ConditionState.Holds)
        {
            return "WAL archive is in the node's region";
        }

        var location = observation.Detail is { Length: > 0 } l ? l : "(location not reported)";
        return observation.Note is { Length: > 0 } region
            ? $"WAL archive {location} is in region '{region}', outside the node's region"
            : $"WAL archive {location} is outside the node's region ({FindingCode} finding)";
    }
}

/// <summary>
/// archive_settings: a primary whose settings do not give the WAL archive the recovery point the operating
/// standards ask for: archive_mode off (no archive, no point-in-time recovery), or archive_timeout off (0) or longer
/// than the threshold (an idle primary's last commits reach the archive only when a segment fills). Replicas are
/// clear (the primary archives). archive_timeout comes from the settings of the slow refresh; until they are
/// read, only archive_mode is judged.
/// </summary>
internal sealed class ArchiveSettingsRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    private const string ModeOff = "archive_mode is off: no WAL archive, no point-in-time recovery";

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is not { PostgresState: PostgresState.Up, Archiver: { } archiver })
        {
            return false;
        }

        if (snapshot.Role != NodeRole.Primary)
        {
            observations.Add(new RuleObservation(string.Empty, ConditionState.Clear, null, Archiving.NotArchiving));
            return true;
        }

        if (string.Equals(archiver.ArchiveMode, "off", StringComparison.OrdinalIgnoreCase))
        {
            observations.Add(new RuleObservation(string.Empty, ConditionState.Holds, null, ModeOff));
            return true;
        }

        var timeout = ArchiveTimeoutSeconds(snapshot);
        var holds = timeout is { } seconds && (seconds <= 0 || seconds > Definition.Threshold);
        observations.Add(new RuleObservation(string.Empty, holds ? ConditionState.Holds : ConditionState.Clear, timeout));
        return true;
    }

    public override string Describe(in RuleObservation observation)
    {
        if (ReferenceEquals(observation.Detail, ModeOff))
        {
            return ModeOff;
        }

        if (ReferenceEquals(observation.Detail, Archiving.NotArchiving))
        {
            return "a replica: its primary archives";
        }

        var limit = FormatValue(Definition.Threshold ?? 0, RuleUnit.Seconds);
        return observation.Value switch
        {
            null => "archive_timeout not read yet",
            <= 0 => $"archive_timeout is off: an idle primary's last commits wait for a full segment before they are archived (at most {limit} wanted)",
            { } seconds when observation.State == ConditionState.Holds => $"archive_timeout is {FormatValue(seconds, RuleUnit.Seconds)} > {limit}",
            { } seconds => $"archive_timeout is {FormatValue(seconds, RuleUnit.Seconds)} <= {limit}",
        };
    }

    private static double? ArchiveTimeoutSeconds(NodeSnapshot snapshot)
    {
        if (snapshot.Settings is not { } settings)
        {
            return null;
        }

        var items = settings.Items;
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Name == "archive_timeout")
            {
                return items[i].Value;
            }
        }

        return null;
    }
}
