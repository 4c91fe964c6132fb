using System.Diagnostics;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Failover;

/// <summary>
/// Carrying out a decision: epoch and pending promotion made durable, fence, promote, publish, follow;
/// adopting a promotion confirmed only by the candidate's report; rejoin of a returning old primary.
/// </summary>
internal sealed partial class FailoverController
{
    private static readonly TimeSpan FenceTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PromoteTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FollowTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan RejoinTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan RejoinRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>Called with the track held. Sets the decision's outcome; never throws for a failed step.</summary>
    private async Task ExecuteAsync(FailoverDecision decision, ClusterTrack track, bool requireFence, CancellationToken cancellationToken)
    {
        track.Changing = true;
        var watch = Stopwatch.StartNew();
        try
        {
            await ExecuteStepsAsync(decision, track, requireFence, watch, cancellationToken);
        }
        catch (NotLeaderException ex)
        {
            // Leadership lapsed mid-change: nothing more is sent; a promotion already recorded stays pending for the next leader.
            await FailAsync(decision, "leadership", ex.Message, watch);
        }
        finally
        {
            track.Changing = false;
        }
    }

    private async Task ExecuteStepsAsync(FailoverDecision decision, ClusterTrack track, bool requireFence, Stopwatch watch, CancellationToken cancellationToken)
    {
        var cluster = decision.Cluster;
        var oldPrimary = decision.OldPrimary;
        var candidate = decision.NewPrimary;
        var verdictReasons = decision.Reasons.ToList();

        // 1. The epoch goes up, durably, before any command is sent; then the candidate is recorded as a
        //    pending promotion, also durably: from here on it may become a primary whatever happens to us.
        ulong current;
        EpochAdvanceResult advanced;
        try
        {
            current = await clusterState.GetEpochAsync(cluster, cancellationToken);
            advanced = await clusterState.TryAdvanceEpochAsync(cluster, current, current + 1, cancellationToken);
        }
        catch (Exception ex) when (ex is not NotLeaderException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
        {
            // Nothing was sent yet. An advance that was applied but not answered only skips an epoch on the next attempt.
            var why = ex is OperationCanceledException ? "the coordination store did not answer in time" : ex.Message;
            await FailAsync(decision, "epoch", $"the epoch could not be advanced: {why}", watch);
            return;
        }

        if (!advanced.Succeeded)
        {
            FailoverLog.EpochAdvanceFailed(logger, cluster, current, advanced.CurrentEpoch);
            epochs.Set(cluster, advanced.CurrentEpoch);
            await FailAsync(decision, "epoch", $"the epoch moved from {current} to {advanced.CurrentEpoch} under us", watch);
            return;
        }

        var epoch = current + 1;
        epochs.Set(cluster, epoch);
        decision.Epoch = epoch;
        decision.Id = $"{cluster}/{epoch}";
        ClusterMemory before;
        lock (track)
        {
            before = track.Memory ?? new ClusterMemory { Primary = oldPrimary, Since = time.GetUtcNow() };
            track.Memory = before with { Primary = before.Primary.Length == 0 ? candidate : before.Primary, PendingCandidate = candidate, PendingEpoch = epoch };
        }

        try
        {
            await SaveAsync(cluster, track, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            lock (track)
            {
                track.Memory = before;
            }

            await FailAsync(decision, "record", $"the pending promotion could not be stored ({ex.Message}); nothing was sent", watch);
            return;
        }

        FailoverLog.Started(logger, cluster, oldPrimary, candidate, epoch);
        recorder.Record(EventKind.FailoverDecision, cluster, candidate, $"{Describe(decision.Kind)} from {Name(oldPrimary)} to {candidate} under epoch {epoch}", verdictReasons, decision.Actor);

        // 2. Fence the old primary if its agent can still hear us (it normally cannot).
        var oldKey = new NodeKey(cluster, oldPrimary);
        var oldAgent = oldPrimary.Length > 0 ? fleet.Get(oldKey) : null;
        var oldSilentFor = oldAgent is null ? TimeSpan.Zero : time.GetUtcNow() - oldAgent.LastActivity;
        if (oldAgent is { Connected: true } oldRecord && !(oldRecord.Fenced && oldRecord.Snapshot?.PostgresState != PostgresState.Up)
            && (requireFence || oldSilentFor <= SilentAfter))
        {
            try
            {
                var fenced = await commands.SendAsync(oldKey, new AggregatorCommand { Epoch = epoch, DecisionId = decision.Id, Fence = new FenceCommand { Mode = FenceMode.Stop } }, FenceTimeout, cancellationToken);
                if (fenced.Outcome != CommandOutcome.Succeeded && requireFence)
                {
                    await AbandonAsync(decision, track, before, "fence", $"old primary {oldPrimary} did not fence: {fenced.Outcome} {fenced.Message}", watch);
                    return;
                }
            }
            catch (TimeoutException)
            {
                if (requireFence)
                {
                    await AbandonAsync(decision, track, before, "fence", $"old primary {oldPrimary} did not confirm fencing within {FenceTimeout.TotalSeconds:F0} s", watch);
                    return;
                }

                decision.Reasons.Add($"old primary {oldPrimary} did not confirm fencing within {FenceTimeout.TotalSeconds:F0} s (its lease has expired)");
            }
        }
        else if (requireFence)
        {
            await AbandonAsync(decision, track, before, "fence", $"old primary {oldPrimary} is not connected", watch);
            return;
        }
        else if (oldAgent is { Connected: true, Fenced: false })
        {
            // A partitioned node's stream looks open (no RST arrives): a Fence would only wait out its timeout.
            decision.Reasons.Add($"old primary {oldPrimary}'s agent silent for {oldSilentFor.TotalSeconds:F1} s: not asked to fence (its lease has expired)");
        }

        // 3. Promote. Only an explicit refusal proves the candidate did nothing; any other failure leaves
        //    the promotion pending (the policy then promotes no other node until the candidate reports).
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
            await FailAsync(decision, "promote", ex.Message + "; the promotion stays pending until the candidate reports", watch);
            return;
        }

        if (result.Outcome != CommandOutcome.Succeeded)
        {
            if (result.Outcome is CommandOutcome.RefusedStaleEpoch or CommandOutcome.Unsupported)
            {
                await AbandonAsync(decision, track, before, "promote", $"{result.Outcome}: {result.Message}", watch);
            }
            else
            {
                await FailAsync(decision, "promote", $"{result.Outcome}: {result.Message}; the promotion stays pending until the candidate reports", watch);
            }

            return;
        }

        decision.Steps.AddRange(result.Details?.Steps ?? []);
        decision.PromotedLsn = result.Details?.Lsn ?? 0;
        decision.PromotedLsnText = result.Details?.LsnText ?? string.Empty;
        if (result.Details is { HasTimeline: true } details)
        {
            decision.NewTimeline = details.Timeline;
        }

        await PublishAsync(decision, track, cancellationToken);

        // 4. Repoint the other replicas (a failure leaves that replica to be fixed, not the failover undone).
        var (followers, problems) = await FollowOthersAsync(cluster, candidate, oldPrimary, epoch, decision.Id, cancellationToken);
        decision.Reasons.AddRange(problems.Select(p => "follow failed: " + p));

        decision.Outcome = DecisionOutcome.Completed;
        decision.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        decision.DurationMs = (ulong)watch.ElapsedMilliseconds;
        FailoverLog.Completed(logger, cluster, candidate, epoch, decision.NewTimeline, watch.ElapsedMilliseconds);
        recorder.Record(EventKind.FailoverDecision, cluster, candidate,
            $"{candidate} promoted (epoch {epoch}, timeline {decision.NewTimeline}) in {watch.ElapsedMilliseconds} ms; {followers - problems.Count} of {followers} replicas follow it", decision.Reasons);
        await AuditAsync(decision, cancellationToken);
    }

    /// <summary>The candidate is the primary: remembered, stored, published.</summary>
    private async Task PublishAsync(FailoverDecision decision, ClusterTrack track, CancellationToken cancellationToken)
    {
        var (cluster, oldPrimary, candidate) = (decision.Cluster, decision.OldPrimary, decision.NewPrimary);
        lock (track)
        {
            track.Memory = new ClusterMemory { Primary = candidate, Since = time.GetUtcNow() };
            if (oldPrimary.Length > 0 && oldPrimary != candidate)
            {
                track.FormerPrimaries.Add(oldPrimary);
                track.FormerPrimary = oldPrimary;
            }

            track.FormerPrimaries.Remove(candidate);
            track.LastSummary = string.Empty;
        }

        try
        {
            await SaveAsync(cluster, track, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The promotion happened; an unsaved record only means a restart would treat it as pending and adopt it from its report.
            FailoverLog.SaveFailed(logger, cluster, ex);
        }

        feed.Publish(cluster, new FleetChange
        {
            Time = Timestamp.FromDateTimeOffset(time.GetUtcNow()),
            PrimaryChanged = new PrimaryChange { Cluster = cluster, OldPrimary = oldPrimary, NewPrimary = candidate, Epoch = decision.Epoch, Timeline = decision.NewTimeline, DecisionId = decision.Id },
        });
    }

    /// <summary>
    /// The pending candidate reported itself primary under the pending epoch (its Promote result was lost:
    /// timeout or an aggregator restart): the promotion is confirmed by that report and completed here.
    /// Called with the track held; releases it.
    /// </summary>
    private async Task AdoptAsync(NodeRecord candidate, ClusterTrack track, ClusterMemory memory)
    {
        track.Changing = true;
        try
        {
            // Re-read under the hold: a decision may have completed since the report was seen.
            if (track.Snapshot() is not { } current || current.PendingCandidate != candidate.Key.Node || current.PendingEpoch != memory.PendingEpoch)
            {
                return;
            }

            var cluster = candidate.Key.Cluster;
            var decision = NewDecision(DecisionKind.AutomaticFailover, cluster, memory.Primary, candidate.Key.Node, "aggregator");
            decision.Epoch = memory.PendingEpoch;
            decision.Id = $"{cluster}/{memory.PendingEpoch}";
            decision.NewTimeline = candidate.Snapshot?.Timeline ?? 0;
            decision.Reasons.Add($"{candidate.Key.Node} reports itself primary (timeline {decision.NewTimeline}) having seen epoch {candidate.HighestEpochSeen}: the unconfirmed promotion under epoch {memory.PendingEpoch} happened");
            await PublishAsync(decision, track, CancellationToken.None);
            var (followers, problems) = await FollowOthersAsync(cluster, candidate.Key.Node, memory.Primary, memory.PendingEpoch, decision.Id, CancellationToken.None);
            decision.Reasons.AddRange(problems.Select(p => "follow failed: " + p));
            decision.Outcome = DecisionOutcome.Completed;
            decision.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
            FailoverLog.Adopted(logger, cluster, candidate.Key.Node, memory.PendingEpoch);
            recorder.Record(EventKind.FailoverDecision, cluster, candidate.Key.Node,
                $"{candidate.Key.Node} adopted as primary (epoch {memory.PendingEpoch}, timeline {decision.NewTimeline}): its promotion was confirmed by its report; {followers - problems.Count} of {followers} replicas follow it", decision.Reasons);
            await AuditAsync(decision, CancellationToken.None);
        }
        catch (Exception ex)
        {
            FailoverLog.LoopFailed(logger, ex);
        }
        finally
        {
            track.Changing = false;
            track.End();
        }
    }

    /// <summary>Points every other connected replica at the new primary, in parallel.</summary>
    private async Task<(int Followers, List<string> Problems)> FollowOthersAsync(string cluster, string primary, string oldPrimary, ulong epoch, string decisionId, CancellationToken cancellationToken)
    {
        var primaryKey = new NodeKey(cluster, primary);
        var followers = fleet.ClusterNodes(cluster).Where(n => n.Key.Node != primary && n.Key.Node != oldPrimary && n.Connected).ToList();
        var follows = followers.Select(async follower =>
        {
            try
            {
                var command = new AggregatorCommand { Epoch = epoch, DecisionId = decisionId, Follow = new FollowCommand { Upstream = Upstream(primaryKey, follower.Key.Node) } };
                var followed = await commands.SendAsync(follower.Key, command, FollowTimeout, cancellationToken);
                return followed.Outcome == CommandOutcome.Succeeded ? null : $"{follower.Key.Node}: {followed.Outcome} {followed.Message}";
            }
            catch (TimeoutException ex)
            {
                return $"{follower.Key.Node}: {ex.Message}";
            }
        });
        var problems = (await Task.WhenAll(follows)).OfType<string>().ToList();
        return (followers.Count, problems);
    }

    private static string Describe(DecisionKind kind) => kind switch
    {
        DecisionKind.Switchover => "switchover",
        DecisionKind.ManualFailover => "manual failover",
        _ => "failover",
    };

    private static string Name(string node) => node.Length == 0 ? "(a primary outside this region)" : node;

    private async Task RejoinAsync(NodeKey node, ClusterTrack track)
    {
        string primary;
        lock (track)
        {
            if (track.Memory is not { } memory || !track.FormerPrimaries.Remove(node.Node))
            {
                return;
            }

            primary = memory.Primary;
        }

        FailoverLog.RejoinSent(logger, node.Cluster, node.Node, primary);
        var outcome = await SendRecordedAsync(
            node,
            new AggregatorCommand { Epoch = epochs.Epoch(node.Cluster), Rejoin = new RejoinCommand { Upstream = Upstream(new NodeKey(node.Cluster, primary), node.Node) } },
            RejoinTimeout,
            $"rejoin as a replica of {primary}");
        lock (track)
        {
            if (outcome != RepairOutcome.Succeeded)
            {
                // A link that closed under the command is no verdict on the node: asked again as soon as it reports
                // on a new link. A failure or a silence backs off.
                track.FormerPrimaries.Add(node.Node);
                track.RejoinBackoff[node.Node] = outcome == RepairOutcome.LinkClosed ? default : time.GetUtcNow() + RejoinRetryDelay;
            }
            else if (track.FormerPrimary == node.Node)
            {
                track.FormerPrimary = null;
            }
        }
    }

    /// <summary>Sends Follow to a stranded replica; a failure backs off 30 s, a success clears the record.</summary>
    private async Task RepointAsync(NodeKey node, ClusterTrack track)
    {
        var primary = track.Snapshot()?.Primary;
        var outcome = RepairOutcome.Failed;
        if (primary is not null)
        {
            FailoverLog.Repointing(logger, node.Cluster, node.Node, primary);
            outcome = await SendRecordedAsync(
                node,
                new AggregatorCommand { Epoch = epochs.Epoch(node.Cluster), Follow = new FollowCommand { Upstream = Upstream(new NodeKey(node.Cluster, primary), node.Node) } },
                FollowTimeout,
                $"repointed to {primary} (it did not stream from it)");
        }

        lock (track)
        {
            track.StrandedSince.Remove(node.Node);
            track.RepointBackoff[node.Node] = outcome is RepairOutcome.Succeeded or RepairOutcome.LinkClosed ? default : time.GetUtcNow() + RejoinRetryDelay;
        }
    }

    /// <summary>How a repair command ended.</summary>
    private enum RepairOutcome
    {
        Succeeded,

        /// <summary>Refused, failed, or no answer in time.</summary>
        Failed,

        /// <summary>The link closed under it: the node may have acted or not; it is asked again on its next link.</summary>
        LinkClosed,
    }

    /// <summary>
    /// Sends a repair command outside any decision (Rejoin, a repointing Follow) and records what came back, or
    /// that nothing did, as a Command event "<paramref name="action"/>: ...".
    /// </summary>
    private async Task<RepairOutcome> SendRecordedAsync(NodeKey node, AggregatorCommand command, TimeSpan timeout, string action)
    {
        try
        {
            var result = await commands.SendAsync(node, command, timeout, CancellationToken.None);
            recorder.Record(EventKind.Command, node.Cluster, node.Node, $"{action}: {result.Outcome} {result.Message}");
            return result.Outcome == CommandOutcome.Succeeded ? RepairOutcome.Succeeded : RepairOutcome.Failed;
        }
        catch (CommandLinkClosedException ex)
        {
            FailoverLog.RepairLinkClosed(logger, node.Cluster, node.Node, action, ex.Message);
            recorder.Record(EventKind.Command, node.Cluster, node.Node, $"{action}: no answer ({ex.Message}); asked again when it reconnects");
            return RepairOutcome.LinkClosed;
        }
        catch (TimeoutException ex)
        {
            recorder.Record(EventKind.Command, node.Cluster, node.Node, $"{action}: no answer ({ex.Message})");
            return RepairOutcome.Failed;
        }
        catch (NotLeaderException ex)
        {
            recorder.Record(EventKind.Command, node.Cluster, node.Node, $"{action}: {ex.Message}");
            return RepairOutcome.Failed;
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

    /// <summary>A step failed before the candidate could have been promoted: the pending promotion is withdrawn.</summary>
    private async Task AbandonAsync(FailoverDecision decision, ClusterTrack track, ClusterMemory before, string step, string reason, Stopwatch watch)
    {
        lock (track)
        {
            track.Memory = before;
        }

        await SaveQuietlyAsync(decision.Cluster, track);
        await FailAsync(decision, step, reason, watch);
    }

    private async Task FailAsync(FailoverDecision decision, string step, string reason, Stopwatch watch)
    {
        decision.Outcome = DecisionOutcome.Failed;
        decision.Reasons.Add($"{step} failed: {reason}");
        decision.FinishedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        decision.DurationMs = (ulong)watch.ElapsedMilliseconds;
        FailoverLog.Failed(logger, decision.Cluster, decision.NewPrimary, decision.Epoch, step, reason);
        recorder.Record(EventKind.FailoverDecision, decision.Cluster, decision.NewPrimary, $"{Describe(decision.Kind)} to {decision.NewPrimary} failed at {step}: {reason}", decision.Reasons, decision.Actor);
        await AuditAsync(decision, CancellationToken.None);
    }

    /// <summary>
    /// Appends the decision to the audit log. A store that refuses (a shared store unreachable) does not
    /// undo or hold up the decision: the whole record is logged instead, so it is not lost.
    /// </summary>
    private async Task AuditAsync(FailoverDecision decision, CancellationToken cancellationToken)
    {
        var details = Google.Protobuf.JsonFormatter.Default.Format(decision);
        try
        {
            await store.AppendAuditAsync(new AuditRecord
            {
                Time = time.GetUtcNow(),
                Actor = decision.Actor,
                Action = decision.Kind.ToString(),
                Cluster = decision.Cluster,
                Node = decision.NewPrimary,
                Outcome = decision.Outcome.ToString(),
                Reasons = [.. decision.Reasons],
                DetailsJson = details,
            }, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            FailoverLog.AuditFailed(logger, decision.Cluster, details, ex);
        }
    }
}
