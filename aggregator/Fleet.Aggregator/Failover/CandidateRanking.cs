using Fleet.Protos.V1;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Which replicas may become primary, and in what order. Pure. Eligible: same region as the primary,
/// reachable, Postgres up and in recovery, not tagged no-failover, within the maximum lag. Order:
/// synchronous standby first, then highest received LSN, highest replayed LSN, higher candidate
/// priority, then name (so the choice is deterministic).
/// </summary>
public static class CandidateRanking
{
    public static IReadOnlyList<CandidateEvaluation> Evaluate(ClusterObservation cluster, ulong maximumLag)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var evaluations = new List<(CandidateEvaluation Evaluation, ReplicaObservation Replica)>(cluster.Replicas.Count);
        foreach (var replica in cluster.Replicas)
        {
            var evaluation = new CandidateEvaluation
            {
                Node = replica.Node,
                Region = replica.Region,
                ReceiveLsn = replica.ReceiveLsn,
                ReplayLsn = replica.ReplayLsn,
                Synchronous = replica.Synchronous,
                CandidatePriority = replica.CandidatePriority,
            };
            var position = Math.Max(replica.ReceiveLsn, replica.ReplayLsn);
            if (cluster.Primary.LastKnownLsn > 0)
            {
                evaluation.LagBytes = cluster.Primary.LastKnownLsn > position ? cluster.Primary.LastKnownLsn - position : 0;
            }

            if (!string.Equals(replica.Region, cluster.Region, StringComparison.Ordinal))
            {
                evaluation.RejectedBecause.Add($"in region '{replica.Region}', not the primary's '{cluster.Region}' (cross-region promotion is manual only)");
            }

            if (!replica.Reachable)
            {
                evaluation.RejectedBecause.Add("agent not reachable");
            }

            if (!replica.PostgresUp)
            {
                evaluation.RejectedBecause.Add("postgres not up");
            }
            else if (!replica.InRecovery)
            {
                evaluation.RejectedBecause.Add("not in recovery (already a primary?)");
            }

            if (replica.NoFailover)
            {
                evaluation.RejectedBecause.Add("tagged no-failover");
            }

            if (evaluation.HasLagBytes && evaluation.LagBytes > maximumLag)
            {
                evaluation.RejectedBecause.Add($"lags {evaluation.LagBytes} bytes > maximum_lag_on_failover {maximumLag}");
            }

            evaluation.Eligible = evaluation.RejectedBecause.Count == 0;
            evaluations.Add((evaluation, replica));
        }

        evaluations.Sort(static (a, b) => Compare(a.Evaluation, b.Evaluation));
        return [.. evaluations.Select(e => e.Evaluation)];
    }

    /// <summary>Eligible before ineligible; then the ranking order above.</summary>
    private static int Compare(CandidateEvaluation a, CandidateEvaluation b)
    {
        int c;
        if ((c = b.Eligible.CompareTo(a.Eligible)) != 0)
        {
            return c;
        }

        if ((c = b.Synchronous.CompareTo(a.Synchronous)) != 0)
        {
            return c;
        }

        if ((c = b.ReceiveLsn.CompareTo(a.ReceiveLsn)) != 0)
        {
            return c;
        }

        if ((c = b.ReplayLsn.CompareTo(a.ReplayLsn)) != 0)
        {
            return c;
        }

        if ((c = b.CandidatePriority.CompareTo(a.CandidatePriority)) != 0)
        {
            return c;
        }

        return string.CompareOrdinal(a.Node, b.Node);
    }
}
