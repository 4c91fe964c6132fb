using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health.Rules;

/// <summary>agent_silent: no report (or hello) from the agent for longer than the threshold.</summary>
internal sealed class AgentSilentRule(AlertRuleDefinition definition) : ThresholdRule(definition)
{
    private const string StreamOpen = "stream open";
    private const string StreamClosed = "stream closed";

    public override bool NeedsFreshData => false;

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var silent = (context.Now - context.Input.LastReportAt).TotalSeconds;
        observations.Add(Observe(string.Empty, Math.Max(0, silent), context.Input.AgentConnected ? StreamOpen : StreamClosed));
        return true;
    }

    protected override string Label(in RuleObservation observation) => "no report from the agent for";

    protected override string? Suffix(in RuleObservation observation) => observation.Detail;
}

/// <summary>postgres_down: the agent reports Postgres in any state but UP.</summary>
internal sealed class PostgresDownRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is null || snapshot.PostgresState == PostgresState.Unspecified)
        {
            return false;
        }

        var up = snapshot.PostgresState == PostgresState.Up;
        var error = snapshot.PostgresError;
        observations.Add(new RuleObservation(
            string.Empty,
            up ? ConditionState.Clear : ConditionState.Holds,
            null,
            StateName(snapshot.PostgresState),
            string.IsNullOrEmpty(error) ? null : error));
        return true;
    }

    public override string Describe(in RuleObservation observation)
    {
        if (observation.State != ConditionState.Holds)
        {
            return "Postgres is up";
        }

        return observation.Note is { } error ? $"Postgres is {observation.Detail}: {error}" : $"Postgres is {observation.Detail}";
    }

    private static string StateName(PostgresState state) => state switch
    {
        PostgresState.Up => "up",
        PostgresState.Down => "down",
        PostgresState.Starting => "starting (not accepting connections yet)",
        PostgresState.Stopping => "stopping",
        PostgresState.Unreachable => "unreachable",
        PostgresState.Unresponsive => "unresponsive (frozen, stalled or overloaded: it does not answer the agent's ping)",
        _ => "in an unknown state",
    };
}

/// <summary>
/// failure_detection_slow: the node would notice a silent primary later than the aggregator's detection settings
/// expect (a replication timeout Fleet does not manage, or could not set), so a failover would wait for it.
/// </summary>
internal sealed class FailureDetectionSlowRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        if (context.Input.Snapshot is not { PostgresState: PostgresState.Up } snapshot)
        {
            return false;
        }

        var problem = snapshot.DetectionProblem;
        observations.Add(new RuleObservation(
            string.Empty,
            problem.Length > 0 ? ConditionState.Holds : ConditionState.Clear,
            null,
            problem,
            null));
        return true;
    }

    public override string Describe(in RuleObservation observation) =>
        observation.State == ConditionState.Holds ? $"failure detection is slow: {observation.Detail}" : "failure detection settings are as the aggregator expects";
}

/// <summary>replica_not_streaming: a replica with no WAL receiver, or one that is not "streaming".</summary>
internal sealed class ReplicaNotStreamingRule(AlertRuleDefinition definition) : HealthRule(definition)
{
    private const string NotReplica = "not a replica";

    public override bool Evaluate(in RuleContext context, List<RuleObservation> observations)
    {
        var snapshot = context.Input.Snapshot;
        if (snapshot is not { PostgresState: PostgresState.Up })
        {
            return false;
        }

        if (snapshot.Role != NodeRole.Replica)
        {
            // A promoted replica no longer has this problem; resolve rather than freeze.
            observations.Add(new RuleObservation(string.Empty, ConditionState.Clear, null, NotReplica));
            return true;
        }

        if (snapshot.Replica is null)
        {
            return false;
        }

        var receiver = snapshot.Replica.WalReceiver;
        var streaming = receiver is not null && string.Equals(receiver.Status, "streaming", StringComparison.OrdinalIgnoreCase);
        observations.Add(new RuleObservation(
            string.Empty,
            streaming ? ConditionState.Clear : ConditionState.Holds,
            null,
            receiver?.Status,
            receiver?.SenderHost));
        return true;
    }

    public override string Describe(in RuleObservation observation)
    {
        if (observation.State == ConditionState.Holds)
        {
            return observation.Detail is null
                ? "replica has no WAL receiver: it is not streaming from any upstream"
                : $"replica WAL receiver is '{observation.Detail}', not streaming";
        }

        if (ReferenceEquals(observation.Detail, NotReplica))
        {
            return "node is no longer a replica";
        }

        return observation.Note is { Length: > 0 } host ? $"replica streams from {host}" : "replica is streaming";
    }
}
