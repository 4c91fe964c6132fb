using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health.Rules;

/// <summary>
/// wraparound_risk: the oldest database's age(datfrozenxid) as a percentage of the 2^31 transactions after which
/// PostgreSQL stops assigning transaction IDs. Autovacuum freezes from 200 million (about 9 %) on; far beyond
/// that, freezing is not keeping up (often a long transaction or an abandoned replication slot holding it back).
/// </summary>
internal sealed class WraparoundRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (!PostgresUp(snapshot) || snapshot!.Wraparound is not { } wraparound)
        {
            return false;
        }

        observations.Add(Observe(string.Empty, wraparound.PercentTowardsWraparound, wraparound.Database));
        return true;
    }

    protected override string Label(in RuleObservation observation) => "transaction ID age towards wraparound";

    protected override string? Suffix(in RuleObservation observation) =>
        observation.Detail is { Length: > 0 } database ? $"oldest: database {database}" : null;
}

/// <summary>
/// synchronous_standby_missing: a primary with synchronous_standby_names set and no standby in sync or quorum
/// state: every commit waits, so writes hang until one comes back (or the setting is cleared).
/// </summary>
internal sealed class SynchronousStandbyMissingRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is not { PostgresState: PostgresState.Up })
        {
            return false;
        }

        if (snapshot.Role != NodeRole.Primary || snapshot.Primary is not { SynchronousStandbyNames.Length: > 0 })
        {
            observations.Add(new RuleObservation(string.Empty, ConditionState.Clear, null));
            return true;
        }

        var synchronous = 0;
        var standbys = snapshot.Standbys;
        for (var i = 0; i < standbys.Count; i++)
        {
            if (standbys[i].SyncState is "sync" or "quorum")
            {
                synchronous++;
            }
        }

        observations.Add(new RuleObservation(string.Empty, synchronous == 0 ? ConditionState.Holds : ConditionState.Clear, synchronous));
        return true;
    }

    public override string Describe(in RuleObservation observation) =>
        observation.State == ConditionState.Holds
            ? "synchronous_standby_names is set but no standby replicates synchronously: commits wait"
            : Invariant($"{observation.Value ?? 0:0} synchronous standby(s), or asynchronous replication");
}

/// <summary>
/// checksum_failure: a database's last data page checksum failure (pg_stat_database.checksum_last_failure) is more
/// recent than the threshold, in seconds: storage returned a corrupted page. Critical at once; it clears by
/// itself once the failure is older than the threshold (default a day), or at once after a statistics reset.
/// One subject per database; a database without a failure (or without data checksums) is clear.
/// </summary>
internal sealed class ChecksumFailureRule(AlertRuleDefinition definition) : ThresholdRule(definition, lowerIsWorse: true)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (!PostgresUp(snapshot))
        {
            return false;
        }

        var databases = snapshot!.Databases;
        for (var i = 0; i < databases.Count; i++)
        {
            var database = databases[i];
            observations.Add(database.ChecksumLastFailure is { } failure
                ? Observe(database.Name, Math.Max(0, (context.Now - failure.ToDateTimeOffset()).TotalSeconds), Invariant($"{database.ChecksumFailures}"))
                : new RuleObservation(database.Name, ConditionState.Clear, null));
        }

        return true;
    }

    protected override string Label(in RuleObservation observation) => $"last data checksum failure in database {observation.Subject} was";

    public override string Describe(in RuleObservation observation) =>
        observation.Value is null
            ? $"no data checksum failure in database {observation.Subject}"
            : observation.State == ConditionState.Holds
                ? Invariant($"database {observation.Subject} had a data checksum failure {FormatValue(observation.Value.Value, Definition.Unit)} ago ({observation.Detail} in all since the statistics reset): storage returned a corrupted page")
                : base.Describe(observation);
}

/// <summary>
/// split_brain: this node accepts writes (an up primary its agent has not fenced) and so does another node of
/// its cluster, each by its own current report. Critical at once on both nodes: clients may be writing to two
/// timelines. Fleet's leases and fencing exist to prevent it; this rule says when they did not.
/// </summary>
internal sealed class SplitBrainRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        if (context.Input.Snapshot is not { PostgresState: PostgresState.Up })
        {
            return false;
        }

        var other = context.Input.OtherWritablePrimary;
        observations.Add(new RuleObservation(string.Empty, other is null ? ConditionState.Clear : ConditionState.Holds, null, other));
        return true;
    }

    public override string Describe(in RuleObservation observation) =>
        observation.State == ConditionState.Holds
            ? $"this node and {observation.Detail} both accept writes (up primaries, not fenced): two timelines may be diverging"
            : "no other node of the cluster accepts writes";
}
