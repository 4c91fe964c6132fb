using System.Collections.Concurrent;
using System.Diagnostics;
using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.Monitoring;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Drives failover per cluster: grants primary leases as reports arrive, evaluates
/// <see cref="FailoverPolicy"/> every 200 ms, and executes a promotion (epoch, fence, promote, follow)
/// when it says so. Thin: every decision is the policy's; this class only observes and sends.
/// </summary>
internal sealed class FailoverController(
    FleetState fleet,
    CommandTracker commands,
    IFleetStore store,
    EventRecorder recorder,
    FleetMonitor monitor,
    FleetChangeFeed feed,
    IOptions<FailoverOptions> failoverOptions,
    IOptions<AggregatorOptions> aggregatorOptions,
    TimeProvider time,
    ILogger<FailoverController> logger) : BackgroundService, ILinkObserver, IPrimaryView
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan FenceTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PromoteTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FollowTimeout = TimeSpan.FromSeconds(20);

    private readonly ConcurrentDictionary<string, ClusterTrack> _clusters = new(StringComparer.Ordinal);

    private FailoverOptions Options => failoverOptions.Value;

    /// <summary>The primary Fleet recognises for a cluster (null before the first report of one).</summary>
    public string? Primary(string cluster) => _clusters.TryGetValue(cluster, out var track) ? track.Primary : null;

    /// <summary>On the ingest path: grants the recognised primary its lease; asks a returning old primary to rejoin.</summary>
    public void ReportApplied(NodeRecord record)
    {
        var track = _clusters.GetOrAdd(record.Key.Cluster, _ => new ClusterTrack());
        var now = time.GetUtcNow();
        lock (track)
        {
            if (track.Primary is null && record.Role == NodeRole.Primary && record.Snapshot?.PostgresState == PostgresState.Up)
            {
                track.Primary = record.Key.Node;
            }

            if (record.Key.Node == track.Primary)
            {
                track.PostgresDownSince = record.Snapshot?.PostgresState == PostgresState.Up ? null : track.PostgresDownSince ?? now;
            }
        }

        if (record.Key.Node == track.Primary && record.Role == NodeRole.Primary && !track.Busy && record.Snapshot?.PostgresState == PostgresState.Up)
        {
            Grant(record, track, now);
        }
        else if (record.Key.Node != track.Primary && record.Role == NodeRole.Primary && track.Primary is not null && !track.Busy
                 && track.FormerPrimaries.Contains(record.Key.Node))
        {
            _ = RejoinAsync(record.Key, track);
        }
    }

    public Task CommandResultAsync(NodeKey node, CommandResult result)
    {
        commands.Complete(result);
        return Task.CompletedTask;
    }

    public Task AgentRefusedAsync(NodeIdentity? identity, string peer, string reason) => Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                foreach (var (cluster, track) in _clusters)
                {
                    if (!track.Busy)
                    {
                        await EvaluateAsync(cluster, track, stoppingToken);
                    }
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                FailoverLog.LoopFailed(logger, ex);
            }
        }
    }

    private void Grant(NodeRecord primary, ClusterTrack track, DateTimeOffset now)
    {
        var grant = new LeaseGrant
        {
            ReportSequence = primary.LastSequence,
            Duration = Duration.FromTimeSpan(Options.LeaseDuration),
            GrantedAt = Timestamp.FromDateTimeOffset(now),
        };
        grant.Replicas.AddRange(fleet.ClusterNodes(primary.Key.Cluster).Where(n => n.Key.Node != primary.Key.Node).Select(n => n.Key.Node));

        // The grant is recorded before it is sent: the aggregator must never believe a lease ends earlier than the agent does.
        lock (track)
        {
            track.LastGrantAt = now;
        }

        _ = commands.SendOneWayAsync(primary.Key, new AggregatorCommand { Epoch = monitor.Epoch(primary.Key.Cluster), LeaseGrant = grant }, CancellationToken.None);
    }

    private async Task EvaluateAsync(string cluster, ClusterTrack track, CancellationToken cancellationToken)
    {
        string? primary;
        DateTimeOffset? granted;
        DateTimeOffset? downSince;
        lock (track)
        {
            primary = track.Primary;
            granted = track.LastGrantAt;
            downSince = track.PostgresDownSince;
        }

        if (primary is null)
        {
            return;
        }

        var silentAfter = aggregatorOptions.Value.Link.ReportInterval * 1.5;
        var observation = ClusterObserver.Observe(cluster, fleet.ClusterNodes(cluster), primary, granted, downSince, time.GetUtcNow(), silentAfter);
        if (observation is null)
        {
            return;
        }

        var verdict = FailoverPolicy.Evaluate(observation, Options);
        var summary = verdict.Action == FailoverAction.None ? string.Empty : string.Join("; ", verdict.Reasons.Skip(1));
        if (summary != track.LastSummary)
        {
            track.LastSummary = summary;
            if (verdict.Action != FailoverAction.None)
            {
                FailoverLog.VerdictChanged(logger, cluster, verdict.Summary);
                if (verdict.Action == FailoverAction.Refuse)
                {
                    recorder.Record(EventKind.FailoverDecision, cluster, primary, "no failover: " + verdict.Reasons[^1], verdict.Reasons);
                }
            }
        }

        if (verdict.Action == FailoverAction.Promote && verdict.Candidate is { } candidate)
        {
            track.Busy = true;
            try
            {
                await PromoteAsync(cluster, track, primary, candidate, verdict, cancellationToken);
            }
            finally
            {
                track.Busy = false;
            }
        }
    }

    private async Task PromoteAsync(string cluster, ClusterTrack track, string oldPrimary, string candidate, FailoverVerdict verdict, CancellationToken cancellationToken)
    {
        var decision = NewDecision(DecisionKind.AutomaticFailover, cluster, oldPrimary, candidate, "aggregator");
        decision.Reasons.AddRange(verdict.Reasons);
        decision.Candidates.AddRange(verdict.Candidates);
        await ExecuteAsync(decision, track, requireFence: false, cancellationToken);
    }

    /// <summary>
    /// A planned switchover requested by an operator: the same machinery, but the old primary must confirm
    /// it is fenced (stopped, so its last WAL reaches the replicas) before the candidate is promoted, and it
    /// is asked to rejoin as a replica right after. Refusals come back as a REFUSED decision with reasons.
    /// </summary>
    public async Task<FailoverDecision> SwitchoverAsync(string cluster, string? candidate, string actor, string reason, ulong? expectedEpoch, CancellationToken cancellationToken)
    {
        if (!_clusters.TryGetValue(cluster, out var track) || track.Primary is not { } primary)
        {
            throw new Rpc.RpcException(Rpc.StatusCode.NotFound, $"no cluster '{cluster}' with a known primary in this region");
        }

        if (expectedEpoch is { } expected && expected != monitor.Epoch(cluster))
        {
            throw new Rpc.RpcException(Rpc.StatusCode.Aborted, $"expected epoch {expected}, but the cluster is at epoch {monitor.Epoch(cluster)}");
        }

        var decision = NewDecision(DecisionKind.Switchover, cluster, primary, candidate ?? string.Empty, actor);
        decision.OperatorReason = reason;
        var observation = ClusterObserver.Observe(cluster, fleet.ClusterNodes(cluster), primary, null, null, time.GetUtcNow(), aggregatorOptions.Value.Link.ReportInterval * 1.5);
        var candidates = observation is null ? [] : CandidateRanking.Evaluate(observation, Options.MaximumLagOnFailover);
        decision.Candidates.AddRange(candidates);
        var chosen = string.IsNullOrEmpty(candidate) ? candidates.FirstOrDefault(c => c.Eligible) : candidates.FirstOrDefault(c => c.Node == candidate);
        string? refusal = observation is null ? $"primary {primary} is unknown"
            : !observation.Primary.PostgresUp ? $"primary {primary} is not healthy: use Failover, not Switchover"
            : chosen is null ? (string.IsNullOrEmpty(candidate) ? "no eligible candidate" : $"'{candidate}' is not a replica of this cluster")
            : !chosen.Eligible ? $"{chosen.Node} is not eligible: {string.Join(", ", chosen.RejectedBecause)}"
            : !observation.Replicas.First(r => r.Node == chosen.Node).StreamingFromPrimary ? $"{chosen.Node} does not stream from the primary"
            : null;
        if (refusal is null && track.Busy)
        {
            refusal = "another role change of this cluster is in progress";
        }

        if (refusal is not null)
        {
            decision.Outcome = DecisionOutcome.Refused;
            decision.Reasons.Add(refusal);
            decision.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            recorder.Record(EventKind.FailoverDecision, cluster, primary, $"switchover refused: {refusal}", decision.Reasons, actor);
            await AuditAsync(decision, cancellationToken);
            return decision;
        }

        decision.NewPrimary = chosen!.Node;
        decision.Reasons.Add($"switchover requested by {actor}: {reason}");
        track.Busy = true;
        try
        {
            await ExecuteAsync(decision, track, requireFence: true, cancellationToken);
        }
        finally
        {
            track.Busy = false;
        }

        if (decision.Outcome == DecisionOutcome.Completed)
        {
            _ = RejoinAsync(new NodeKey(cluster, primary), track);
        }

        return decision;
    }

    private FailoverDecision NewDecision(DecisionKind kind, string cluster, string oldPrimary, string candidate, string actor) => new()
    {
        Kind = kind,
        Outcome = DecisionOutcome.InProgress,
        Cluster = cluster,
        OldPrimary = oldPrimary,
        NewPrimary = candidate,
        Actor = actor,
        StartedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
    };

    private async Task ExecuteAsync(FailoverDecision decision, ClusterTrack track, bool requireFence, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var cluster = decision.Cluster;
        var oldPrimary = decision.OldPrimary;
        var candidate = decision.NewPrimary;
        var verdictReasons = decision.Reasons.ToList();

        // 1. The epoch goes up, durably, before any command is sent.
        var current = await store.GetEpochAsync(cluster, cancellationToken);
        var advanced = await store.TryAdvanceEpochAsync(cluster, current, current + 1, cancellationToken);
        if (!advanced.Succeeded)
        {
            FailoverLog.EpochAdvanceFailed(logger, cluster, current, advanced.CurrentEpoch);
            monitor.SetEpoch(cluster, advanced.CurrentEpoch);
            return;
        }

        var epoch = current + 1;
        monitor.SetEpoch(cluster, epoch);
        decision.Epoch = epoch;
        decision.Id = $"{cluster}/{epoch}";
        FailoverLog.Started(logger, cluster, oldPrimary, candidate, epoch);
        recorder.Record(EventKind.FailoverDecision, cluster, candidate, $"{Describe(decision.Kind)} from {oldPrimary} to {candidate} under epoch {epoch}", verdictReasons, decision.Actor);

        // 2. Fence the old primary if its agent can still hear us (it normally cannot).
        var oldKey = new NodeKey(cluster, oldPrimary);
        if (fleet.Get(oldKey) is { Connected: true } oldRecord && !(oldRecord.Fenced && oldRecord.Snapshot?.PostgresState != PostgresState.Up))
        {
            try
            {
                await commands.SendAsync(oldKey, new AggregatorCommand { Epoch = epoch, DecisionId = decision.Id, Fence = new FenceCommand { Mode = FenceMode.Stop } }, FenceTimeout, cancellationToken);
            }
            catch (TimeoutException)
            {
                if (requireFence)
                {
                    await FailAsync(decision, "fence", $"old primary {oldPrimary} did not confirm fencing within {FenceTimeout.TotalSeconds:F0} s", watch);
                    return;
                }

                decision.Reasons.Add($"old primary {oldPrimary} did not confirm fencing within {FenceTimeout.TotalSeconds:F0} s (its lease has expired)");
            }
        }
        else if (requireFence)
        {
            await FailAsync(decision, "fence", $"old primary {oldPrimary} is not connected", watch);
            return;
        }

        // 3. Promote.
        var candidateKey = new NodeKey(cluster, candidate);
        CommandResult result;
        try
        {
            var promote = new PromoteCommand();
            promote.ReplicaSlots.AddRange(fleet.ClusterNodes(cluster).Where(n => n.Key.Node != candidate).Select(n => SlotName(n.Key.Node)));
            result = await commands.SendAsync(candidateKey, new AggregatorCommand { Epoch = epoch, DecisionId = decision.Id, Promote = promote }, PromoteTimeout, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            await FailAsync(decision, "promote", ex.Message, watch);
            return;
        }

        if (result.Outcome != CommandOutcome.Succeeded)
        {
            await FailAsync(decision, "promote", $"{result.Outcome}: {result.Message}", watch);
            return;
        }

        decision.Steps.AddRange(result.Details?.Steps ?? []);
        decision.PromotedLsn = result.Details?.Lsn ?? 0;
        decision.PromotedLsnText = result.Details?.LsnText ?? string.Empty;
        if (result.Details is { HasTimeline: true } details)
        {
            decision.NewTimeline = details.Timeline;
        }

        lock (track)
        {
            track.Primary = candidate;
            track.FormerPrimaries.Add(oldPrimary);
            track.FormerPrimaries.Remove(candidate);
            track.LastGrantAt = null;
            track.PostgresDownSince = null;
            track.LastSummary = string.Empty;
        }

        feed.Publish(cluster, new FleetChange
        {
            Time = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            PrimaryChanged = new PrimaryChange { Cluster = cluster, OldPrimary = oldPrimary, NewPrimary = candidate, Epoch = epoch, Timeline = decision.NewTimeline, DecisionId = decision.Id },
        });

        // 4. Repoint the other replicas (in parallel; a failure leaves that replica to be fixed, not the failover undone).
        var followers = fleet.ClusterNodes(cluster).Where(n => n.Key.Node != candidate && n.Key.Node != oldPrimary && n.Connected).ToList();
        var follows = followers.Select(async follower =>
        {
            try
            {
                var followed = await commands.SendAsync(follower.Key, new AggregatorCommand { Epoch = epoch, DecisionId = decision.Id, Follow = new FollowCommand { Upstream = Upstream(candidateKey, follower.Key.Node) } }, FollowTimeout, cancellationToken);
                return followed.Outcome == CommandOutcome.Succeeded ? null : $"{follower.Key.Node}: {followed.Outcome} {followed.Message}";
            }
            catch (TimeoutException ex)
            {
                return $"{follower.Key.Node}: {ex.Message}";
            }
        });
        var problems = (await Task.WhenAll(follows)).Where(p => p is not null).ToList();
        decision.Reasons.AddRange(problems.Select(p => "follow failed: " + p));

        decision.Outcome = DecisionOutcome.Completed;
        decision.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        decision.DurationMs = (ulong)watch.ElapsedMilliseconds;
        FailoverLog.Completed(logger, cluster, candidate, epoch, decision.NewTimeline, watch.ElapsedMilliseconds);
        recorder.Record(EventKind.FailoverDecision, cluster, candidate,
            $"{candidate} promoted (epoch {epoch}, timeline {decision.NewTimeline}) in {watch.ElapsedMilliseconds} ms; {followers.Count - problems.Count} of {followers.Count} replicas follow it", decision.Reasons);
        await AuditAsync(decision, cancellationToken);
    }

    private static string Describe(DecisionKind kind) => kind switch
    {
        DecisionKind.Switchover => "switchover",
        DecisionKind.ManualFailover => "manual failover",
        _ => "failover",
    };

    private async Task RejoinAsync(NodeKey node, ClusterTrack track)
    {
        lock (track)
        {
            if (!track.FormerPrimaries.Remove(node.Node))
            {
                return;
            }
        }

        var primary = track.Primary!;
        FailoverLog.RejoinSent(logger, node.Cluster, node.Node, primary);
        try
        {
            var result = await commands.SendAsync(node, new AggregatorCommand { Epoch = monitor.Epoch(node.Cluster), Rejoin = new RejoinCommand { Upstream = Upstream(new NodeKey(node.Cluster, primary), node.Node) } },
                TimeSpan.FromMinutes(5), CancellationToken.None);
            recorder.Record(EventKind.Command, node.Cluster, node.Node, $"rejoin as a replica of {primary}: {result.Outcome} {result.Message}");
            if (result.Outcome != CommandOutcome.Succeeded)
            {
                lock (track)
                {
                    track.FormerPrimaries.Add(node.Node);
                }
            }
        }
        catch (TimeoutException ex)
        {
            recorder.Record(EventKind.Command, node.Cluster, node.Node, $"rejoin as a replica of {primary} got no answer: {ex.Message}");
            lock (track)
            {
                track.FormerPrimaries.Add(node.Node);
            }
        }
    }

    /// <summary>How <paramref name="follower"/> streams from <paramref name="node"/>: its advertised address and the follower's slot.</summary>
    private Upstream Upstream(NodeKey node, string follower)
    {
        var record = fleet.Get(node);
        return new Upstream { Node = node.Node, Host = record?.Hello.AdvertiseHost ?? string.Empty, Port = record?.Hello.AdvertisePort ?? 0, SlotName = SlotName(follower) };
    }

    /// <summary>The same rule as the agent's: slot names allow only [a-z0-9_].</summary>
    private static string SlotName(string node) => new([.. node.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_')]);

    private async Task FailAsync(FailoverDecision decision, string step, string reason, Stopwatch watch)
    {
        decision.Outcome = DecisionOutcome.Failed;
        decision.Reasons.Add($"{step} failed: {reason}");
        decision.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        decision.DurationMs = (ulong)watch.ElapsedMilliseconds;
        FailoverLog.Failed(logger, decision.Cluster, decision.NewPrimary, decision.Epoch, step, reason);
        recorder.Record(EventKind.FailoverDecision, decision.Cluster, decision.NewPrimary, $"failover to {decision.NewPrimary} failed at {step}: {reason}", decision.Reasons);
        await AuditAsync(decision, CancellationToken.None);
    }

    private Task AuditAsync(FailoverDecision decision, CancellationToken cancellationToken) =>
        store.AppendAuditAsync(new AuditRecord
        {
            Time = time.GetUtcNow(),
            Actor = decision.Actor,
            Action = decision.Kind.ToString(),
            Cluster = decision.Cluster,
            Node = decision.NewPrimary,
            Outcome = decision.Outcome.ToString(),
            Reasons = [.. decision.Reasons],
            DetailsJson = Google.Protobuf.JsonFormatter.Default.Format(decision),
        }, cancellationToken);

    /// <summary>The controller's per-cluster memory; fields guarded by locking the instance.</summary>
    private sealed class ClusterTrack
    {
        public string? Primary { get; set; }

        public DateTimeOffset? LastGrantAt { get; set; }

        public DateTimeOffset? PostgresDownSince { get; set; }

        public string LastSummary { get; set; } = string.Empty;

        public volatile bool Busy;

        public HashSet<string> FormerPrimaries { get; } = new(StringComparer.Ordinal);
    }
}
