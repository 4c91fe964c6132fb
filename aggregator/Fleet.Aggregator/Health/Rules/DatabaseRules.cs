namespace Fleet.Aggregator.Health.Rules;

/// <summary>connections_high: client connections as a percentage of max_connections.</summary>
internal sealed class ConnectionsRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (!PostgresUp(snapshot) || snapshot!.Connections is not { MaxConnections: > 0 } connections)
        {
            return false;
        }

        observations.Add(Observe(string.Empty, Percent(connections.Total, connections.MaxConnections)));
        return true;
    }

    protected override string Label(in RuleObservation observation) => "connections in use (of max_connections)";
}

/// <summary>
/// buffer_hit_ratio_warning / buffer_hit_ratio_critical: per database, the share of block reads
/// served from shared buffers over the last collection interval. A database without an interval
/// ratio (no reads this interval, or the first cycle) keeps its alert state. A database that read fewer
/// than <see cref="MinBlocksReadPerSecond"/> blocks a second from outside shared buffers is not in trouble
/// whatever its ratio (an idle database touching a few cold pages reads 90 %): it counts as fine.
/// </summary>
internal sealed class BufferHitRatioRule(AlertRuleDefinition definition) : ThresholdRule(definition, lowerIsWorse: true)
{
    /// <summary>100 blocks of 8 KiB a second, 0.8 MB/s: below it misses cost nothing worth an alert.</summary>
    public const double MinBlocksReadPerSecond = 100;

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (!PostgresUp(snapshot))
        {
            return false;
        }

        var databases = snapshot!.Databases;
        if (databases.Count == 0 && snapshot.CollectionErrors.Count > 0)
        {
            return false;
        }

        for (var i = 0; i < databases.Count; i++)
        {
            var database = databases[i];
            observations.Add(!database.HasIntervalHitRatio
                ? new RuleObservation(database.Name, ConditionState.Unknown, null)
                : database.HasBlocksReadPerSecond && database.BlocksReadPerSecond < MinBlocksReadPerSecond
                    ? new RuleObservation(database.Name, ConditionState.Clear, Percent(database.IntervalHitRatio), Note: TooLittleIo)
                    : Observe(database.Name, Percent(database.IntervalHitRatio)));
        }

        return true;
    }

    private const string TooLittleIo = "too little I/O to judge";

    protected override string Label(in RuleObservation observation) => $"buffer hit ratio of database {observation.Subject}";

    public override string Describe(in RuleObservation observation) =>
        ReferenceEquals(observation.Note, TooLittleIo)
            ? $"{Label(observation)} {FormatValue(observation.Value ?? 0, Definition.Unit)} with fewer than {MinBlocksReadPerSecond:F0} blocks read a second: {TooLittleIo}"
            : base.Describe(observation);
}

/// <summary>
/// deadlocks_high: deadlocks of all databases in the last hour, from the cumulative counters the
/// aggregator has seen (<see cref="NodeHistory"/>). The agent's per-interval rate is not used: one
/// deadlock in a 1 s interval is 3,600/h, which would make the rule fire on every single deadlock.
/// </summary>
internal sealed class DeadlocksRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        if (!PostgresUp(context.Input.Snapshot) || context.History is not { } history
            || !history.TryGetDeadlocksInWindow(out var count))
        {
            return false;
        }

        observations.Add(Observe(string.Empty, count));
        return true;
    }

    protected override string Label(in RuleObservation observation) => "deadlocks in the last hour:";
}
