using System.Collections.Concurrent;
using System.Threading.Channels;
using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Coordination;
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
/// <see cref="FailoverPolicy"/> every 200 ms (and at once on a report from a cluster whose primary is
/// unhealthy), and executes a promotion (epoch, fence, promote, follow)
/// when it says so. Thin: every decision is the policy's; this class only observes, remembers and sends.
/// It resumes from the store after a restart (FailoverController.Execution.cs, docs/failover.md "Restarts").
/// </summary>
internal sealed partial class FailoverController(
    FleetState fleet,
    CommandTracker commands,
    ILeadership leadership,
    IClusterStateStore clusterState,
    IFleetStore store,
    EventRecorder recorder,
    ClusterEpochs epochs,
    FleetChangeFeed feed,
    IOptions<FailoverOptions> failoverOptions,
    IOptions<AggregatorOptions> aggregatorOptions,
    TimeProvider time,
    ILogger<FailoverController> logger) : BackgroundService, ILinkObserver, IPrimaryView
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    private readonly ConcurrentDictionary<string, ClusterTrack> _clusters = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Clusters to evaluate now rather than at the next pass: a report arrived while their primary is unhealthy
    // (often the replica report that completes rule 2). Bounded; when full, the 200 ms pass covers the rest.
    private readonly Channel<string> _prompt = Channel.CreateBounded<string>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });

    // The leadership term whose state this controller has taken over (0: Mode None, or none yet).
    private long _actingTerm;

    // Adoption, rejoin, repoint, saves and lease grants started from the ingest path: awaited on stop.
    private readonly BackgroundWork _work = new();

    private FailoverOptions Options => failoverOptions.Value;

    private TimeSpan SilentAfter => aggregatorOptions.Value.Link.ReportInterval * 1.5;

    /// <summary>The primary Fleet recognises for a cluster (null before the first report of one).</summary>
    public string? Primary(string cluster) => _clusters.TryGetValue(cluster, out var track) ? track.Memory?.Primary : null;

    /// <summary>
    /// Loads the published primaries before the first evaluation; reports arriving earlier are ignored until then.
    /// An aggregator that does not lead at start (Mode Etcd) loads them when it is elected, term by term.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var status = leadership.Status(time.GetUtcNow());
        if (status.IsLeader)
        {
            await ResumeAsync(status.Term, status.PredecessorQuiet, "aggregator restarted", cancellationToken);
        }
        else
        {
            // A follower shows the epochs it can read now; it takes over the whole state when it is elected.
            try
            {
                foreach (var (cluster, epoch) in await clusterState.ListEpochsAsync(cancellationToken))
                {
                    epochs.Set(cluster, epoch);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                FailoverLog.EpochsNotLoaded(logger, ex);
            }
        }

        _loaded.TrySetResult();
        await base.StartAsync(cancellationToken);
    }

    /// <summary>
    /// Takes over the durable state of every cluster for <paramref name="term"/>: published primary, pending
    /// promotion, former primary and epochs. The previous holder (this process before a restart, or another
    /// aggregator) may have granted a lease just before it stopped acting, so each primary is assumed to hold one
    /// granted then: <paramref name="predecessorQuiet"/> before now when the previous leader's lease ran out in
    /// etcd (it stopped acting at least its StepDownMargin earlier), now otherwise.
    /// </summary>
    private async Task ResumeAsync(long term, TimeSpan predecessorQuiet, string why, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lastGrantAssumed = now - predecessorQuiet;
        var saved = await clusterState.ListPrimariesAsync(cancellationToken);
        foreach (var (cluster, epoch) in await clusterState.ListEpochsAsync(cancellationToken))
        {
            epochs.Set(cluster, epoch);
        }

        foreach (var record in saved)
        {
            var track = _clusters.GetOrAdd(record.Cluster, _ => new ClusterTrack());
            lock (track)
            {
                track.Memory = new ClusterMemory
                {
                    Primary = record.Primary,
                    Since = now,
                    LastGrantAt = lastGrantAssumed, // a lease granted by the previous holder must be assumed to run its course
                    PendingCandidate = record.PendingCandidate,
                    PendingEpoch = record.PendingEpoch,
                };
                track.FormerPrimary = record.FormerPrimary;
                track.FormerPrimaries.Clear();
                if (record.FormerPrimary is { } former)
                {
                    track.FormerPrimaries.Add(former);
                }
            }

            FailoverLog.Resumed(logger, record.Cluster, record.Primary, record.Epoch, record.PendingCandidate ?? "none");
            if (record.PendingCandidate is { } pending)
            {
                recorder.Record(EventKind.FailoverDecision, record.Cluster, pending,
                    $"{why} while the promotion of {pending} under epoch {record.PendingEpoch} was unconfirmed: it is adopted if it reports as a primary, and no other node is promoted until it reports");
            }
        }

        // Clusters this aggregator learnt of from reports while it followed: recorded now that it may write.
        var known = saved.Select(p => p.Cluster).ToHashSet(StringComparer.Ordinal);
        foreach (var (cluster, track) in _clusters)
        {
            if (!known.Contains(cluster) && track.Snapshot() is { } memory)
            {
                lock (track)
                {
                    track.Memory = memory with { LastGrantAt = lastGrantAssumed };
                }

                await SaveQuietlyAsync(cluster, track);
            }
        }

        Volatile.Write(ref _actingTerm, term);
    }

    /// <summary>True while this aggregator leads and has taken over the state of its current term.</summary>
    private bool Acting(DateTimeOffset now) =>
        leadership.IsLeader(now) && leadership.Status(now).Term == Volatile.Read(ref _actingTerm);

    /// <summary>On the ingest path: grants the recognised primary its lease; adopts a confirmed promotion; asks a returning old primary to rejoin.</summary>
    public void ReportApplied(NodeRecord record)
    {
        if (!_loaded.Task.IsCompleted)
        {
            return;
        }

        var cluster = record.Key.Cluster;
        var node = record.Key.Node;
        var track = _clusters.GetOrAdd(cluster, _ => new ClusterTrack());
        var now = time.GetUtcNow();
        var up = record.Snapshot?.PostgresState == PostgresState.Up;
        var isPrimary = record.Role == NodeRole.Primary;
        ClusterMemory? memory;
        var recognised = false;
        lock (track)
        {
            if (track.Memory is null && isPrimary && up)
            {
                track.Memory = new ClusterMemory { Primary = node, Since = now };
                recognised = true;
            }
            else if (track.Memory is { } known && known.Primary == node && (up ? known.PostgresDownSince is not null : known.PostgresDownSince is null))
            {
                track.Memory = known with { PostgresDownSince = up ? null : now };
            }

            memory = track.Memory;
        }

        if (memory is null)
        {
            return;
        }

        if (!Acting(now))
        {
            return; // a follower remembers what it sees but records, grants, adopts, rejoins and repoints nothing
        }

        if (recognised)
        {
            _work.Track(SaveQuietlyAsync(cluster, track));
        }

        if (memory.PostgresDownSince is not null || track.LastSummary.Length > 0)
        {
            _prompt.Writer.TryWrite(cluster); // the primary is down, or the last pass found it unhealthy
        }

        var fromPrimary = node == memory.Primary;
        var primaryRecord = fromPrimary ? null : PublishedPrimaryUp(cluster, memory.Primary);
        var facts = new ReportFacts
        {
            FromPublishedPrimary = fromPrimary,
            ReportsPrimary = isPrimary,
            Up = up,
            UnresponsiveWithinTimeout = !up && StillWithinUnresponsiveTimeout(record.Snapshot),
            Fenced = record.Fenced,
            StrandedReplica = IsStrandedReplica(record),
            ChangeInProgress = track.Changing,
            PromotionPending = memory.PendingCandidate is not null,
            FromPendingCandidate = node == memory.PendingCandidate,
            SawPendingEpoch = record.HighestEpochSeen >= memory.PendingEpoch,
            FormerPrimary = !fromPrimary && track.IsFormerPrimary(node),
            RejoinDue = !fromPrimary && now >= track.RejoinNotBefore(node),
            PublishedPrimaryUp = primaryRecord is not null,
        };
        switch (ReportPolicy.Decide(facts))
        {
            case ReportAction.Grant:
                Grant(record, track, now);
                break;
            case ReportAction.Adopt when track.TryBegin():
                _work.Track(AdoptAsync(record, track, memory));
                break;
            case ReportAction.Rejoin:
                // A returning old primary: running as a primary, kept down and fenced by its agent after a crash or a
                // fence, or left a replica that does not stream by a rejoin that failed half-way.
                _work.Track(RejoinAsync(record.Key, track));
                break;
            case ReportAction.WatchStranded when track.StrandedLongEnough(node, !StreamsFrom(record, primaryRecord!), now, Options.FailoverTimeout):
                // A replica that missed the Follow of the last change (its agent was away), or lost its upstream: repoint it.
                _work.Track(RepointAsync(record.Key, track));
                break;
        }
    }

    public Task CommandResultAsync(NodeKey node, CommandResult result)
    {
        commands.Complete(result);
        return Task.CompletedTask;
    }

    public Task AgentRefusedAsync(NodeIdentity? identity, string peer, string reason) => Task.CompletedTask;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(PassAsync(stoppingToken), PromptAsync(stoppingToken));

    /// <summary>Stops the pass and the prompt queue, then waits (within the host's shutdown time) for work already started.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await _work.DrainAsync(cancellationToken);
    }

    /// <summary>Evaluates the clusters queued by <see cref="ReportApplied"/>, one at a time, as they come.</summary>
    private async Task PromptAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var cluster in _prompt.Reader.ReadAllAsync(stoppingToken))
            {
                // Taking over a term is the pass's job: until it has, nothing is evaluated here.
                if (!Acting(time.GetUtcNow()) || !_clusters.TryGetValue(cluster, out var track))
                {
                    continue;
                }

                try
                {
                    await EvaluateUnlessBusyAsync(cluster, track, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    FailoverLog.LoopFailed(logger, ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }

    private async Task PassAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var status = leadership.Status(time.GetUtcNow());
            if (!status.IsLeader)
            {
                continue;
            }

            if (status.Term != Volatile.Read(ref _actingTerm))
            {
                try
                {
                    await ResumeAsync(status.Term, status.PredecessorQuiet, $"this aggregator took over as leader (term {status.Term})", stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    FailoverLog.LoopFailed(logger, ex); // not acting until the state of the term is read
                    continue;
                }
            }

            try
            {
                foreach (var (cluster, track) in _clusters)
                {
                    await EvaluateUnlessBusyAsync(cluster, track, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                FailoverLog.LoopFailed(logger, ex);
            }
        }
    }

    /// <summary>
    /// A primary whose agent reports PostgreSQL not answering its ping keeps its lease until the failover
    /// timeout: the agent is alive and kills PostgreSQL itself when that passes (docs/failover.md), and a
    /// freeze shorter than that must not cost a failover. After it, no more grants: the lease runs out.
    /// </summary>
    private bool StillWithinUnresponsiveTimeout(NodeSnapshot? snapshot) =>
        snapshot is { PostgresState: PostgresState.Unresponsive } s && TimeSpan.FromMilliseconds(s.PostgresUnansweredMs) < Options.FailoverTimeout;

    private static bool IsStrandedReplica(NodeRecord record) =>
        record.Role == NodeRole.Replica && record.Snapshot is { PostgresState: PostgresState.Up } snapshot && snapshot.Replica?.WalReceiver is not { Status: "streaming" };

    /// <summary>Its WAL receiver streams, and from the published primary's port when the receiver says which.</summary>
    private static bool StreamsFrom(NodeRecord replica, NodeRecord primary) =>
        replica.Snapshot?.Replica?.WalReceiver is { Status: "streaming" } receiver
        && (receiver.SenderPort == 0 || primary.Hello.AdvertisePort == 0 || receiver.SenderPort == primary.Hello.AdvertisePort);

    /// <summary>The published primary's record while its agent reports it up as a primary; else null.</summary>
    private NodeRecord? PublishedPrimaryUp(string cluster, string primary) =>
        fleet.Get(new NodeKey(cluster, primary)) is { Connected: true, Role: NodeRole.Primary, Snapshot.PostgresState: PostgresState.Up } record ? record : null;

    private void Grant(NodeRecord primary, ClusterTrack track, DateTimeOffset now)
    {
        var grant = new LeaseGrant
        {
            ReportSequence = primary.LastSequence,
            Duration = Duration.FromTimeSpan(Options.LeaseDuration),
            GrantedAt = Timestamp.FromDateTimeOffset(now),
        };
        foreach (var node in fleet.ClusterNodes(primary.Key.Cluster))
        {
            if (node.Key.Node != primary.Key.Node)
            {
                grant.Replicas.Add(node.Key.Node);
            }
        }

        // The grant is recorded before it is sent: the aggregator must never believe a lease ends earlier than the agent does.
        lock (track)
        {
            if (track.Memory is not { } memory || memory.Primary != primary.Key.Node)
            {
                return;
            }

            track.Memory = memory with { LastGrantAt = now };
        }

        try
        {
            _work.Track(commands.SendOneWayAsync(primary.Key, new AggregatorCommand { Epoch = epochs.Epoch(primary.Key.Cluster), LeaseGrant = grant }, CancellationToken.None));
        }
        catch (NotLeaderException)
        {
            // The term lapsed since the check above: no lease is granted, the primary's current one runs out.
        }
    }

    /// <summary>Evaluates the cluster unless its track is held (a role change, or the other evaluation path).</summary>
    private async Task EvaluateUnlessBusyAsync(string cluster, ClusterTrack track, CancellationToken cancellationToken)
    {
        if (!track.TryBegin())
        {
            return;
        }

        try
        {
            await EvaluateAsync(cluster, track, cancellationToken);
        }
        finally
        {
            track.End();
        }
    }

    /// <summary>Called with the track held (<see cref="ClusterTrack.TryBegin"/>).</summary>
    private async Task EvaluateAsync(string cluster, ClusterTrack track, CancellationToken cancellationToken)
    {
        var memory = track.Snapshot();
        if (memory is null)
        {
            return;
        }

        // Runs for every cluster every 200 ms: a healthy primary settles it from its own record alone, before
        // the cluster's other records are fetched (at 5,000 agents the pass is 8,000 clusters a second).
        var now = time.GetUtcNow();
        var primary = ClusterObserver.ObservePrimary(fleet.Get(new NodeKey(cluster, memory.Primary)), memory, now, SilentAfter);
        if (!FailoverPolicy.NeedsEvaluation(primary) && track.LastSummary.Length == 0 && track.LastRecordedRefusal.Length == 0)
        {
            return; // healthy, and nothing of an earlier verdict left to clear
        }

        var verdict = FailoverVerdict.Healthy;
        if (FailoverPolicy.NeedsEvaluation(primary))
        {
            var observation = ClusterObserver.Observe(cluster, fleet.ClusterNodes(cluster), memory, aggregatorOptions.Value.Region, now, SilentAfter);
            primary = observation.Primary; // the verdict and what follows judge the same records
            verdict = FailoverPolicy.Evaluate(observation, Options);
        }

        var summary = verdict.Action == FailoverAction.None ? string.Empty : string.Join("; ", verdict.Reasons.Skip(1));
        if (summary != track.LastSummary)
        {
            track.LastSummary = summary;
            if (verdict.Action != FailoverAction.None)
            {
                FailoverLog.VerdictChanged(logger, cluster, verdict.Summary);
            }
        }

        // A refusal is news once a failover would be warranted: the primary unhealthy for the failover timeout.
        // Before that it is the ordinary moment after a restart or a change of leader, before agents reconnect.
        if (verdict.Action != FailoverAction.Refuse)
        {
            track.LastRecordedRefusal = string.Empty;
        }
        else if (summary != track.LastRecordedRefusal && now - primary.UnhealthySince >= Options.FailoverTimeout)
        {
            track.LastRecordedRefusal = summary;
            recorder.Record(EventKind.FailoverDecision, cluster, memory.Primary, "no failover: " + verdict.Reasons[^1], verdict.Reasons);
        }

        if (verdict.Action == FailoverAction.Promote && verdict.Candidate is { } candidate && time.GetUtcNow() >= track.RetryAfter)
        {
            var decision = NewDecision(DecisionKind.AutomaticFailover, cluster, memory.Primary, candidate, "aggregator");
            decision.Reasons.AddRange(verdict.Reasons);
            decision.Candidates.AddRange(verdict.Candidates);
            await ExecuteAsync(decision, track, requireFence: false, cancellationToken);
            if (decision.Outcome == DecisionOutcome.Failed)
            {
                // Not again at once: each attempt costs an epoch and an event; the failover timeout paces retries.
                track.RetryAfter = time.GetUtcNow() + Options.FailoverTimeout;
            }
        }
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

    private Task SaveAsync(string cluster, ClusterTrack track, CancellationToken cancellationToken)
    {
        ClusterMemory memory;
        string? former;
        lock (track)
        {
            memory = track.Memory!;
            former = track.FormerPrimary;
        }

        return clusterState.SavePrimaryAsync(new ClusterPrimary(cluster, memory.Primary, epochs.Epoch(cluster), memory.PendingCandidate, memory.PendingEpoch) { FormerPrimary = former }, cancellationToken);
    }

    private async Task SaveQuietlyAsync(string cluster, ClusterTrack track)
    {
        try
        {
            await SaveAsync(cluster, track, CancellationToken.None);
        }
        catch (Exception ex)
        {
            FailoverLog.SaveFailed(logger, cluster, ex);
        }
    }

    /// <summary>
    /// The controller's per-cluster memory. <see cref="Memory"/> and the former primaries are guarded by
    /// locking the instance; <see cref="TryBegin"/> makes role changes of one cluster strictly sequential
    /// (the evaluation loop, operator requests, adoption and rejoin all take it).
    /// </summary>
    private sealed class ClusterTrack
    {
        private int _busy;

        public ClusterMemory? Memory { get; set; }

        /// <summary>The old primary of the last completed change, kept in the store.</summary>
        public string? FormerPrimary { get; set; }

        public HashSet<string> FormerPrimaries { get; } = new(StringComparer.Ordinal);

        /// <summary>Per former primary, no new rejoin attempt before this (after a failed one).</summary>
        public Dictionary<string, DateTimeOffset> RejoinBackoff { get; } = new(StringComparer.Ordinal);

        /// <summary>Per replica, since when it has not streamed from the published primary (absent while it does).</summary>
        public Dictionary<string, DateTimeOffset> StrandedSince { get; } = new(StringComparer.Ordinal);

        /// <summary>Per replica, no new Follow before this (one is running, or one failed).</summary>
        public Dictionary<string, DateTimeOffset> RepointBackoff { get; } = new(StringComparer.Ordinal);

        /// <summary>
        /// Records whether <paramref name="node"/> is stranded now; true once it has been for <paramref name="grace"/>
        /// (a replica restarting its receiver is not stranded) and no Follow is running or backing off.
        /// </summary>
        public bool StrandedLongEnough(string node, bool stranded, DateTimeOffset now, TimeSpan grace)
        {
            lock (this)
            {
                if (!stranded)
                {
                    StrandedSince.Remove(node);
                    return false;
                }

                if (!StrandedSince.TryGetValue(node, out var since))
                {
                    StrandedSince[node] = now;
                    return false;
                }

                if (now - since < grace || now < RepointBackoff.GetValueOrDefault(node))
                {
                    return false;
                }

                RepointBackoff[node] = DateTimeOffset.MaxValue; // until the Follow ends
                return true;
            }
        }

        public DateTimeOffset RejoinNotBefore(string node)
        {
            lock (this)
            {
                return RejoinBackoff.GetValueOrDefault(node);
            }
        }

        public string LastSummary { get; set; } = string.Empty;

        /// <summary>The last refusal recorded as an event (each distinct refusal once per unhealthy episode).</summary>
        public string LastRecordedRefusal { get; set; } = string.Empty;

        /// <summary>No automatic attempt before this (set after a failed one).</summary>
        public DateTimeOffset RetryAfter { get; set; }

        /// <summary>A role change is executing: no lease for the old primary, no rejoin.</summary>
        public volatile bool Changing;

        public bool TryBegin() => Interlocked.CompareExchange(ref _busy, 1, 0) == 0;

        public void End() => Volatile.Write(ref _busy, 0);

        public ClusterMemory? Snapshot()
        {
            lock (this)
            {
                return Memory;
            }
        }

        public bool IsFormerPrimary(string node)
        {
            lock (this)
            {
                return FormerPrimaries.Contains(node);
            }
        }
    }
}
