using Fleet.Protos.V1;
using Fleet.Aggregator.Requests;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Failover;

/// <summary>Role changes requested by an operator: planned switchover and manual failover.</summary>
internal sealed partial class FailoverController
{
    /// <summary>
    /// A planned switchover: the same machinery, but the old primary must confirm it is fenced (stopped, so
    /// its last WAL reaches the replicas) before the candidate is promoted, and it is asked to rejoin as a
    /// replica right after. Refusals come back as a REFUSED decision with reasons.
    /// </summary>
    public async Task<FailoverDecision> SwitchoverAsync(string cluster, string? candidate, string actor, string reason, ulong? expectedEpoch, CancellationToken cancellationToken)
    {
        RequireLeadership();
        await WaitForCurrentReportsAsync(cluster, cancellationToken);
        var (track, memory) = Known(cluster);
        CheckEpoch(cluster, expectedEpoch);
        var decision = NewDecision(DecisionKind.Switchover, cluster, memory.Primary, candidate ?? string.Empty, actor);
        decision.OperatorReason = reason;
        var observation = ClusterObserver.Observe(cluster, fleet.ClusterNodes(cluster), memory with { LastGrantAt = null }, aggregatorOptions.Value.Region, time.GetUtcNow(), SilentAfter);
        var candidates = CandidateRanking.Evaluate(observation, Options.MaximumLagOnFailover);
        decision.Candidates.AddRange(candidates);
        var chosen = Choose(candidates, candidate, memory.PendingCandidate);
        string? refusal = !observation.Primary.PostgresUp ? $"primary {memory.Primary} is not healthy: use Failover, not Switchover"
            : chosen is null ? (candidate is null ? "no eligible candidate" : $"'{candidate}' is not a replica of this cluster")
            : !chosen.Eligible ? $"{chosen.Node} is not eligible: {string.Join(", ", chosen.RejectedBecause)}"
            : memory.PendingCandidate is { } pending && pending != chosen.Node ? FailoverPolicy.PendingRefusal(observation, candidates.FirstOrDefault(c => c.Node == pending))
            : !observation.Replicas.First(r => r.Node == chosen.Node).StreamingFromPrimary ? $"{chosen.Node} does not stream from the primary"
            : null;
        var decided = await RunOperatorDecisionAsync(decision, track, chosen?.Node, refusal, $"switchover requested by {actor}: {reason}", requireFence: true, "switchover", cancellationToken);
        if (decided.Outcome == DecisionOutcome.Completed)
        {
            _work.Track(RejoinAsync(new(cluster, memory.Primary), track));
        }

        return decided;
    }

    /// <summary>
    /// Manual failover: promote without the old primary's cooperation. It skips the failover timeout and
    /// the majority rule (the operator is the judge), never the fencing rules: a reachable old primary must
    /// confirm it is fenced; an unreachable one must have let its last lease surely expire, and the candidate
    /// must have lost it. Cross-region: when this region knows no primary of the cluster (it lives in another
    /// region), a named local replica is promoted only with <see cref="ManualFailoverRequest.AllowCrossRegion"/> and a reason.
    /// </summary>
    public async Task<FailoverDecision> FailoverAsync(ManualFailoverRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        RequireLeadership();
        var cluster = request.Cluster;
        await WaitForCurrentReportsAsync(cluster, cancellationToken);
        var track = _clusters.GetOrAdd(cluster, _ => new ClusterTrack());
        var memory = track.Snapshot();
        var crossRegion = memory is null;
        if (crossRegion && !request.AllowCrossRegion)
        {
            throw new RequestRefusedException(RefusalKind.NotFound,
                $"no cluster '{cluster}' with a known primary in region {aggregatorOptions.Value.Region}; promoting a replica here while the primary lives in another region needs allow_cross_region and cross_region_reason");
        }

        if (crossRegion && request.Candidate is null)
        {
            throw new RequestRefusedException(RefusalKind.InvalidArgument, "a cross-region promotion must name its candidate");
        }

        CheckEpoch(cluster, request.ExpectedEpoch);
        var now = time.GetUtcNow();
        memory ??= new ClusterMemory { Primary = string.Empty, Since = now };
        var decision = NewDecision(DecisionKind.ManualFailover, cluster, memory.Primary, request.Candidate ?? string.Empty, request.Actor);
        decision.OperatorReason = request.Reason;
        var observation = ClusterObserver.Observe(cluster, fleet.ClusterNodes(cluster), memory, aggregatorOptions.Value.Region, now, SilentAfter);
        var candidates = CandidateRanking.Evaluate(observation, Options.MaximumLagOnFailover);
        decision.Candidates.AddRange(candidates);
        var pending = request.AbandonPendingPromotion ? null : memory.PendingCandidate;
        var chosen = Choose(candidates, request.Candidate, pending);
        var oldRecord = memory.Primary.Length == 0 ? null : fleet.Get(new(cluster, memory.Primary));
        var oldReachable = oldRecord is { Connected: true } && now - oldRecord.LastActivity <= SilentAfter;
        var oldFencedDown = oldReachable && oldRecord!.Fenced && oldRecord.Snapshot?.PostgresState != PostgresState.Up;
        var leaseSafeAt = memory.LastGrantAt is { } granted ? granted + Options.LeaseDuration + Options.DriftMargin : (DateTimeOffset?)null;
        string? refusal = chosen is null ? (request.Candidate is null ? "no eligible candidate" : $"'{request.Candidate}' is not a replica of this cluster in this region")
            : !chosen.Eligible ? $"{chosen.Node} is not eligible: {string.Join(", ", chosen.RejectedBecause)}"
            : pending is not null && pending != chosen.Node ? FailoverPolicy.PendingRefusal(observation, candidates.FirstOrDefault(c => c.Node == pending))
            : !crossRegion && !oldReachable && leaseSafeAt is { } safeAt && now < safeAt ? $"the old primary {memory.Primary} is unreachable and its last lease may be held for {(safeAt - now).TotalSeconds:0.0} s more: retry then"
            : !crossRegion && !oldReachable && observation.Replicas.First(r => r.Node == chosen.Node).StreamingFromPrimary ? $"{chosen.Node} still streams from the old primary {memory.Primary}: it is alive; fence it first (AgentService.Fence) or use Switchover"
            : null;
        var because = crossRegion
            ? $"cross-region promotion by {request.Actor}: the primary of {cluster} is not in region {aggregatorOptions.Value.Region}; it is not fenced by Fleet; override reason: {request.CrossRegionReason}"
            : $"manual failover requested by {request.Actor}: {request.Reason}";
        if (request.AbandonPendingPromotion && memory.PendingCandidate is { } abandoned)
        {
            decision.Reasons.Add($"{request.Actor} abandons the unconfirmed promotion of {abandoned} under epoch {memory.PendingEpoch}, asserting it is not and will not become a primary");
        }

        // A reachable old primary must confirm the fence (unless it already reports down and fenced).
        return await RunOperatorDecisionAsync(decision, track, chosen?.Node, refusal, because, requireFence: oldReachable && !oldFencedDown, "manual failover", cancellationToken);
    }

    /// <summary>Lets late reports of the cluster arrive before an operator decision judges its nodes (<see cref="CurrentReports"/>).</summary>
    private async Task WaitForCurrentReportsAsync(string cluster, CancellationToken cancellationToken)
    {
        var staleAfter = aggregatorOptions.Value.Link.StaleAfter;
        if (!await CurrentReports.WaitAsync(fleet, cluster, SilentAfter, staleAfter, time, cancellationToken))
        {
            FailoverLog.DecidingWithoutCurrentReports(logger, cluster, staleAfter);
        }
    }

    private async Task<FailoverDecision> RunOperatorDecisionAsync(FailoverDecision decision, ClusterTrack track, string? chosen, string? refusal, string because, bool requireFence, string what, CancellationToken cancellationToken)
    {
        var held = refusal is null && track.TryBegin();
        if (refusal is null && !held)
        {
            refusal = "another role change of this cluster is in progress";
        }

        if (refusal is not null)
        {
            decision.Outcome = DecisionOutcome.Refused;
            decision.Reasons.Add(refusal);
            decision.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            recorder.Record(EventKind.FailoverDecision, decision.Cluster, decision.OldPrimary, $"{what} refused: {refusal}", decision.Reasons, decision.Actor);
            await AuditAsync(decision, cancellationToken);
            return decision;
        }

        try
        {
            decision.NewPrimary = chosen!;
            decision.Reasons.Add(because);

            // Once started it runs to its end even if the caller goes away: a half-done role change helps nobody.
            await ExecuteAsync(decision, track, requireFence, CancellationToken.None);
        }
        finally
        {
            track.End();
        }

        return decision;
    }

    /// <summary>Role changes are decided by the leader only; a follower names it (docs/aggregator.md, "Several aggregators").</summary>
    private void RequireLeadership()
    {
        var now = time.GetUtcNow();
        if (!Acting(now))
        {
            var status = leadership.Status(now);
            throw new RequestRefusedException(RefusalKind.NotLeader, status.DescribeHolder() is { } leader
                ? $"this aggregator does not lead region {aggregatorOptions.Value.Region}: ask the leader, {leader}"
                : $"this aggregator does not lead region {aggregatorOptions.Value.Region} and no leader is known (etcd unreachable or an election under way): retry shortly");
        }
    }

    private (ClusterTrack Track, ClusterMemory Memory) Known(string cluster) =>
        _clusters.TryGetValue(cluster, out var track) && track.Snapshot() is { } memory
            ? (track, memory)
            : throw new RequestRefusedException(RefusalKind.NotFound, $"no cluster '{cluster}' with a known primary in this region");

    private void CheckEpoch(string cluster, ulong? expectedEpoch)
    {
        if (expectedEpoch is { } expected && expected != epochs.Epoch(cluster))
        {
            throw new RequestRefusedException(RefusalKind.StaleEpoch, $"expected epoch {expected}, but the cluster is at epoch {epochs.Epoch(cluster)}");
        }
    }

    /// <summary>The named candidate, else the pending one, else the best eligible.</summary>
    private static CandidateEvaluation? Choose(IReadOnlyList<CandidateEvaluation> candidates, string? named, string? pending) =>
        named is not null ? candidates.FirstOrDefault(c => c.Node == named)
        : pending is not null ? candidates.FirstOrDefault(c => c.Node == pending) ?? candidates.FirstOrDefault(c => c.Eligible)
        : candidates.FirstOrDefault(c => c.Eligible);
}

/// <summary>FleetService.Failover after validation and authorisation.</summary>
internal sealed record ManualFailoverRequest(string Cluster, string? Candidate, string Actor, string Reason)
{
    public ulong? ExpectedEpoch { get; init; }

    public bool AllowCrossRegion { get; init; }

    public string CrossRegionReason { get; init; } = string.Empty;

    public bool AbandonPendingPromotion { get; init; }
}
