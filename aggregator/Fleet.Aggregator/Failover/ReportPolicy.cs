namespace Fleet.Aggregator.Failover;

/// <summary>What one report asks of the leader, besides the failover pass.</summary>
public enum ReportAction
{
    /// <summary>Nothing.</summary>
    None,

    /// <summary>Renew the published primary's lease.</summary>
    Grant,

    /// <summary>The pending candidate reports itself primary under the pending epoch: its promotion happened; adopt it.</summary>
    Adopt,

    /// <summary>A former primary is back (running as a primary, fenced, or a replica that does not stream): make it a replica of the primary.</summary>
    Rejoin,

    /// <summary>
    /// A replica that may have missed a Follow or lost its upstream: watch whether it streams from the published
    /// primary, and repoint it once it has not for the failover timeout (the time part is the track's).
    /// </summary>
    WatchStranded,
}

/// <summary>The facts about one report that <see cref="ReportPolicy.Decide"/> looks at, gathered by the controller.</summary>
public readonly record struct ReportFacts
{
    /// <summary>The report is from the cluster's published primary.</summary>
    public bool FromPublishedPrimary { get; init; }

    /// <summary>The node reports itself primary.</summary>
    public bool ReportsPrimary { get; init; }

    /// <summary>Its PostgreSQL is up.</summary>
    public bool Up { get; init; }

    /// <summary>Its PostgreSQL does not answer, but for less than the unresponsive timeout (a stall, not yet a loss).</summary>
    public bool UnresponsiveWithinTimeout { get; init; }

    /// <summary>Its agent keeps its server down after a fence or crash.</summary>
    public bool Fenced { get; init; }

    /// <summary>A replica whose WAL receiver does not stream.</summary>
    public bool StrandedReplica { get; init; }

    /// <summary>A role change of the cluster is in progress.</summary>
    public bool ChangeInProgress { get; init; }

    /// <summary>A promotion is pending (unconfirmed) in the cluster.</summary>
    public bool PromotionPending { get; init; }

    /// <summary>The report is from the pending candidate.</summary>
    public bool FromPendingCandidate { get; init; }

    /// <summary>The node has seen the pending promotion's epoch.</summary>
    public bool SawPendingEpoch { get; init; }

    /// <summary>The node was a primary before the last completed change.</summary>
    public bool FormerPrimary { get; init; }

    /// <summary>A rejoin may be (re)tried now (none in progress, the pause after a failed one is over).</summary>
    public bool RejoinDue { get; init; }

    /// <summary>The published primary is connected and up: something to rejoin or follow.</summary>
    public bool PublishedPrimaryUp { get; init; }
}

/// <summary>
/// The rules a leader applies to each report, outside the failover pass (docs/failover.md "Leases", "Restarts",
/// "Returning old primaries"). Pure: facts in, one action out; the first rule that matches wins.
/// </summary>
public static class ReportPolicy
{
    public static ReportAction Decide(ReportFacts facts)
    {
        if (facts.FromPublishedPrimary)
        {
            // The lease goes only to a primary that serves (or stalls briefly), and not while its role is changing.
            return facts.ReportsPrimary && (facts.Up || facts.UnresponsiveWithinTimeout) && !facts.ChangeInProgress ? ReportAction.Grant : ReportAction.None;
        }

        if (facts.FromPendingCandidate && facts.ReportsPrimary && facts.Up && facts.SawPendingEpoch)
        {
            return ReportAction.Adopt;
        }

        if ((facts.ReportsPrimary || facts.Fenced || facts.StrandedReplica) && !facts.ChangeInProgress && facts.FormerPrimary && facts.RejoinDue && facts.PublishedPrimaryUp)
        {
            return ReportAction.Rejoin;
        }

        if (!facts.ReportsPrimary && facts.Up && !facts.ChangeInProgress && !facts.PromotionPending && !facts.FormerPrimary && facts.PublishedPrimaryUp)
        {
            return ReportAction.WatchStranded;
        }

        return ReportAction.None;
    }
}
