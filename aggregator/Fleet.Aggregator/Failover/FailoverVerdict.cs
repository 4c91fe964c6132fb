using Fleet.Protos.V1;

namespace Fleet.Aggregator.Failover;

/// <summary>What the policy concluded this instant.</summary>
public enum FailoverAction
{
    /// <summary>The primary is healthy: nothing to do.</summary>
    None,

    /// <summary>Something is wrong but a condition is not met yet (timeout, lease); look again later.</summary>
    Wait,

    /// <summary>A failover would be warranted by the primary's state, but it is not safe or not possible.</summary>
    Refuse,

    /// <summary>Promote <see cref="FailoverVerdict.Candidate"/>.</summary>
    Promote,
}

/// <summary>The decision, its reasons (sentences, asserted by tests) and every candidate's evaluation.</summary>
public sealed record FailoverVerdict(FailoverAction Action, string? Candidate, IReadOnlyList<string> Reasons, IReadOnlyList<CandidateEvaluation> Candidates)
{
    /// <summary>The verdict for a healthy primary: nothing to do, no reasons.</summary>
    public static readonly FailoverVerdict Healthy = new(FailoverAction.None, null, [], []);

    public string Summary => Reasons.Count == 0 ? Action.ToString() : $"{Action}: {string.Join("; ", Reasons)}";
}
