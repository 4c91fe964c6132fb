using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health;

/// <summary>
/// One node as the health rules see it: identity, its latest snapshot and archive status (or null),
/// when its agent was last heard from (report or hello), and whether the agent's stream is open.
/// <paramref name="OtherWritablePrimary"/>: set only when this node accepts writes (an up primary its agent has not
/// fenced), to another node of the cluster that does too, as its current report says; null otherwise.
/// </summary>
public readonly record struct NodeHealthInput(
    string Cluster,
    string Node,
    string Region,
    NodeSnapshot? Snapshot,
    DateTimeOffset LastReportAt,
    bool AgentConnected,
    ArchiveStatus? Archive = null,
    string? OtherWritablePrimary = null);

/// <summary>What a rule evaluation sees: the node, the evaluation time, and the node's short history.</summary>
public readonly record struct RuleContext(NodeHealthInput Input, DateTimeOffset Now, NodeHistory? History);

/// <summary>Whether a rule's condition holds for one subject.</summary>
public enum ConditionState
{
    /// <summary>Measured, and the condition does not hold.</summary>
    Clear,

    /// <summary>Measured, and the condition holds.</summary>
    Holds,

    /// <summary>Subject present but not measurable now: its alert keeps its state.</summary>
    Unknown,
}

/// <summary>
/// One result of a rule: the subject (empty for node-level rules; a standby, database or table
/// otherwise), the condition's state, the observed value in the rule's unit, and up to two strings
/// the rule uses in its sentence. Holds no formatted text, so evaluation allocates nothing; the
/// sentence is made by <see cref="HealthRule.Describe"/> only when needed.
/// </summary>
public readonly record struct RuleObservation(
    string Subject,
    ConditionState State,
    double? Value,
    string? Detail = null,
    string? Note = null);
