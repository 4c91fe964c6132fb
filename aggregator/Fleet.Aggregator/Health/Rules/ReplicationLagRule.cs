namespace Fleet.Aggregator.Health.Rules;

/// <summary>
/// replication_lag_warning / replication_lag_critical: per standby streaming from this node
/// (pg_stat_replication), its replay lag in seconds; the standby's application_name (Fleet replicas
/// use their node name) is the alert's subject. NULL lag means the standby is idle and caught up.
/// </summary>
internal sealed class ReplicationLagRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (!PostgresUp(snapshot))
        {
            return false;
        }

        var standbys = snapshot!.Standbys;
        if (standbys.Count == 0 && snapshot.CollectionErrors.Count > 0)
        {
            // No rows and a failed query this cycle: "no standbys" cannot be told from "not collected".
            return false;
        }

        for (var i = 0; i < standbys.Count; i++)
        {
            var standby = standbys[i];
            var lag = standby.HasReplayLagSeconds ? standby.ReplayLagSeconds
                : standby.HasFlushLagSeconds ? standby.FlushLagSeconds
                : standby.HasWriteLagSeconds ? standby.WriteLagSeconds
                : 0;
            var name = standby.ApplicationName.Length > 0 ? standby.ApplicationName : standby.ClientAddr;
            observations.Add(Observe(name, lag, standby.State));
        }

        return true;
    }

    protected override string Label(in RuleObservation observation) => $"standby {observation.Subject} replay lag";

    protected override string? Suffix(in RuleObservation observation) =>
        observation.Detail is { Length: > 0 } state && state != "streaming" ? $"state {state}" : null;
}
