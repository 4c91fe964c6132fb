using Fleet.Protos.V1;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Decides whether to fail over a cluster now. Pure and deterministic: an observation and the settings in,
/// a verdict with reasons out. docs/failover.md states the rules this implements:
/// (1) the primary has been silent or down longer than the failover timeout;
/// (2) the candidate and a majority of the reachable replicas have lost the primary;
/// (3) the last lease surely expired, unless the old primary's agent confirmed it is down and fenced;
/// (4) a promotion whose outcome is unknown pins the choice to its candidate.
/// </summary>
public static class FailoverPolicy
{
    /// <summary>
    /// False while the primary is healthy: the verdict is then <see cref="FailoverVerdict.Healthy"/> whatever the
    /// replicas say, so the rest of the cluster need not be observed.
    /// </summary>
    public static bool NeedsEvaluation(PrimaryObservation primary)
    {
        ArgumentNullException.ThrowIfNull(primary);
        return primary.UnhealthySince is not null;
    }

    public static FailoverVerdict Evaluate(ClusterObservation cluster, FailoverOptions options)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        var primary = cluster.Primary;
        if (primary.UnhealthySince is not { } unhealthySince)
        {
            return FailoverVerdict.Healthy;
        }

        var reasons = new List<string>();
        var what = primary.PostgresUp ? "agent silent" : "postgres down or agent silent";
        var unhealthyFor = cluster.Now - unhealthySince;
        reasons.Add($"primary {primary.Node}: {what} for {Seconds(unhealthyFor)}");

        if (!options.Enabled)
        {
            reasons.Add("automatic failover is disabled (Failover:Enabled=false)");
            return new FailoverVerdict(FailoverAction.Refuse, null, reasons, []);
        }

        // Rule 2 first: while replicas still stream from the primary, it is alive whatever the
        // aggregator sees, and that is the most useful thing to tell an operator.
        var reachable = cluster.Replicas.Where(r => r.Reachable).ToList();
        var streaming = reachable.Where(r => r.StreamingFromPrimary).Select(r => r.Node).ToList();
        var majority = (reachable.Count / 2) + 1;
        var lost = reachable.Count - streaming.Count;
        if (reachable.Count == 0)
        {
            reasons.Add("no replica is reachable: nobody can confirm the primary is gone, and nobody could be promoted");
            return new FailoverVerdict(FailoverAction.Refuse, null, reasons, CandidateRanking.Evaluate(cluster, options.MaximumLagOnFailover));
        }

        if (lost < majority)
        {
            reasons.Add($"replicas still stream from the primary ({string.Join(", ", streaming)}): {lost} of {reachable.Count} reachable replicas lost it, a majority is {majority}");
            return new FailoverVerdict(FailoverAction.Refuse, null, reasons, []);
        }

        // The old primary's agent positively confirmed Postgres is down and will not be restarted by it:
        // there is no blip to ride out, so neither the timeout nor the lease is waited for.
        if (unhealthyFor < options.FailoverTimeout && !primary.ConfirmedDownAndFenced)
        {
            reasons.Add($"waiting for the failover timeout ({Seconds(options.FailoverTimeout)})");
            return new FailoverVerdict(FailoverAction.Wait, null, reasons, []);
        }

        if (!primary.ConfirmedDownAndFenced && primary.LastLeaseGrantedAt is { } granted)
        {
            var safeAt = granted + options.LeaseDuration + options.DriftMargin;
            if (cluster.Now < safeAt)
            {
                reasons.Add($"the lease granted {Seconds(cluster.Now - granted)} ago may still be held until {Seconds(safeAt - cluster.Now)} from now");
                return new FailoverVerdict(FailoverAction.Wait, null, reasons, []);
            }
        }

        var candidates = CandidateRanking.Evaluate(cluster, options.MaximumLagOnFailover);
        var best = candidates.FirstOrDefault(c => c.Eligible);

        // Rule 4: a promotion whose outcome is unknown pins the choice. That node may be a primary already;
        // promoting any other could make two.
        if (cluster.PendingCandidate is { } pending)
        {
            var pinned = candidates.FirstOrDefault(c => c.Node == pending);
            if (pinned is not { Eligible: true })
            {
                reasons.Add(PendingRefusal(cluster, pinned));
                return new FailoverVerdict(FailoverAction.Refuse, null, reasons, candidates);
            }

            best = pinned;
        }

        if (best is null)
        {
            reasons.Add(candidates.Count == 0 ? "no replica to promote" : "no eligible candidate: " +
                string.Join("; ", candidates.Select(c => $"{c.Node} ({string.Join(", ", c.RejectedBecause)})")));
            return new FailoverVerdict(FailoverAction.Refuse, null, reasons, candidates);
        }

        var streamingCandidate = reachable.First(r => r.Node == best.Node).StreamingFromPrimary;
        if (streamingCandidate)
        {
            reasons.Add($"candidate {best.Node} still streams from the primary");
            return new FailoverVerdict(FailoverAction.Refuse, null, reasons, candidates);
        }

        reasons.Add($"{lost} of {reachable.Count} reachable replicas lost the primary");
        reasons.Add(primary.ConfirmedDownAndFenced ? "the old primary's agent confirmed it is down and fenced" : "the old primary's lease has surely expired");
        reasons.Add($"promote {best.Node}: {Describe(best)}");
        return new FailoverVerdict(FailoverAction.Promote, best.Node, reasons, candidates);
    }

    /// <summary>Why nothing can be promoted while <see cref="ClusterObservation.PendingCandidate"/> is not eligible.</summary>
    public static string PendingRefusal(ClusterObservation cluster, CandidateEvaluation? pinned)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var state = pinned is null ? "it is not reporting as a replica" : string.Join(", ", pinned.RejectedBecause);
        return $"the promotion of {cluster.PendingCandidate} under epoch {cluster.PendingEpoch} was never confirmed and it may be a primary already: " +
               $"only it may be promoted, and it cannot be now ({state}); an operator can abandon that promotion with FleetService.Failover";
    }

    private static string Describe(CandidateEvaluation candidate) =>
        $"{(candidate.Synchronous ? "synchronous standby, " : string.Empty)}received {Lsn(candidate.ReceiveLsn)}, replayed {Lsn(candidate.ReplayLsn)}" +
        (candidate.HasLagBytes ? $", {candidate.LagBytes} bytes behind the last known primary position" : string.Empty);

    public static string Lsn(ulong lsn) => $"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X8}";

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds:0.0} s";
}
