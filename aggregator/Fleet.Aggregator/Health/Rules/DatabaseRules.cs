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
/// ratio (no reads this interval, or the first cycle) keeps its alert state.
/// </summary>
internal sealed class BufferHitRatioRule(AlertRuleDefinition definition) : ThresholdRule(definition, lowerIsWorse: true)
{
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
            observations.Add(database.HasIntervalHitRatio
                ? Observe(database.Name, Percent(database.IntervalHitRatio))
                : new RuleObservation(database.Name, ConditionState.Unknown, null));
        }

        return true;
    }

    protected override string Label(in RuleObservation observation) => $"buffer hit ratio of database {observation.Subject}";
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
