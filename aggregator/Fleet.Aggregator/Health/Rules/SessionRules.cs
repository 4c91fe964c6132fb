namespace Fleet.Aggregator.Health.Rules;

/// <summary>
/// long_transaction / idle_in_transaction_long: the oldest open transaction, and the longest a session has sat idle
/// inside one (it holds its locks and its snapshot: vacuum cannot remove what it might still see). No open
/// transaction, or none idle, is a clear condition at 0 s.
/// </summary>
internal sealed class SessionAgeRule(AlertRuleDefinition definition, bool idleOnly) : ThresholdRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (!PostgresUp(snapshot) || snapshot!.Connections is not { } connections)
        {
            return false;
        }

        var seconds = idleOnly
            ? connections.HasLongestIdleInTransactionSeconds ? connections.LongestIdleInTransactionSeconds : 0
            : connections.HasLongestTransactionSeconds ? connections.LongestTransactionSeconds : 0;
        observations.Add(Observe(string.Empty, seconds));
        return true;
    }

    protected override string Label(in RuleObservation observation) =>
        idleOnly ? "longest idle-in-transaction session" : "oldest open transaction";
}
