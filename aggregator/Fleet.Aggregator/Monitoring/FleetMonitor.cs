using System.Collections.Concurrent;
using Fleet.Aggregator.Configuration;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.Health;
using Fleet.Aggregator.Ingest;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Monitoring;

/// <summary>
/// Watches the fleet state: evaluates health rules on every report and on a one-second sweep (for
/// agents that went silent), records presence and role changes as events, and tells watchers. Thin:
/// decisions come from <see cref="AlertTracker"/> and <see cref="FleetViews"/>.
/// </summary>
internal sealed class FleetMonitor(
    FleetState fleet,
    FleetChangeFeed feed,
    AlertRuleSet rules,
    IFleetStore store,
    EventRecorder recorder,
    AlertBook alerts,
    FleetReader reader,
    ILeadership leadership,
    IOptions<AggregatorOptions> options,
    TimeProvider time,
    ILogger<FleetMonitor> logger) : BackgroundService, ILinkObserver
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<NodeKey, AgentPresence> _presence = new();
    // The leadership term whose stored alerts this monitor has taken over (-1: none yet).
    private long _alertsTerm = -1;

    private AlertTracker Tracker => alerts.Tracker;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Each start takes a fresh block of alert ids, so ids stay unique across restarts.
        var block = (ulong)await store.NextSequenceValueAsync("alert-id-block", cancellationToken);
        var tracker = new AlertTracker(rules, (block << 32) | 1, options.Value.Link.StaleAfter);
        var restored = tracker.Restore(await store.ListActiveAlertsAsync(null, cancellationToken));
        alerts.Tracker = tracker;
        MonitorLog.Restored(logger, restored);
        fleet.Changed += OnChanged;
        await base.StartAsync(cancellationToken);
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        fleet.Changed -= OnChanged;
        return base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// On gaining leadership (checked every sweep) with a shared store: the alerts the previous leader stored become this
    /// tracker's (same incident, same id), those that no longer hold here are stored resolved, and
    /// this tracker's active alerts are stored (the previous leader may not have seen them).
    /// </summary>
    private async Task TakeOverAlertsAsync(long term, CancellationToken cancellationToken)
    {
        if (!store.IsShared)
        {
            return;
        }

        IReadOnlyList<Alert> stored;
        try
        {
            stored = await store.ListActiveAlertsAsync(null, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Failover must not wait for history: the stored alerts stay as they are until the next term.
            MonitorLog.AlertsTakeOverFailed(logger, term, ex);
            return;
        }

        var resolved = Tracker.Adopt(stored, time.GetUtcNow());
        foreach (var alert in resolved)
        {
            recorder.RecordAlert(alert);
            recorder.Record(EventKind.Alert, alert.Cluster, alert.Node, $"{alert.Rule} resolved: no longer holds as seen by the new leader", [alert.Message]);
        }

        foreach (var alert in Tracker.GetActiveAlerts())
        {
            recorder.RecordAlert(alert);
        }

        MonitorLog.AlertsTakenOver(logger, term, stored.Count, resolved.Count);
    }

    public void ReportApplied(NodeRecord record) => Evaluate(record, time.GetUtcNow());

    public Task AgentRefusedAsync(NodeIdentity? identity, string peer, string reason)
    {
        recorder.Record(EventKind.AgentRejected, identity?.Cluster ?? string.Empty, identity?.Name ?? string.Empty, $"agent from {peer} refused: {reason}", [reason]);
        return Task.CompletedTask;
    }

    public Task CommandResultAsync(NodeKey node, CommandResult result)
    {
        recorder.Record(EventKind.Command, node.Cluster, node.Node, $"command {result.CommandId}: {result.Outcome} {result.Message}".TrimEnd());
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(SweepInterval, time);
        var nextPrune = time.GetUtcNow() + PruneInterval;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var now = time.GetUtcNow();
                if (leadership.Status(now) is { IsLeader: true } status && status.Term != _alertsTerm)
                {
                    _alertsTerm = status.Term;
                    await TakeOverAlertsAsync(status.Term, stoppingToken);
                }

                Sweep(now);
                if (now >= nextPrune)
                {
                    nextPrune = now + PruneInterval;
                    await store.PruneAsync(now, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                MonitorLog.SweepFailed(logger, ex);
            }
        }
    }

    /// <summary>Silent agents get no reports, so their rules (agent silent) and presence are checked here.</summary>
    private void Sweep(DateTimeOffset now)
    {
        var staleAfter = options.Value.Link.StaleAfter;
        foreach (var record in fleet.Nodes())
        {
            var presence = FleetViews.Presence(record, now, staleAfter);
            var previous = _presence.GetValueOrDefault(record.Key, AgentPresence.Connected);
            if (presence != AgentPresence.Connected)
            {
                Evaluate(record, now);
            }

            if (presence == previous)
            {
                continue;
            }

            _presence[record.Key] = presence;
            if (presence == AgentPresence.Stale)
            {
                recorder.Record(EventKind.NodePresence, record.Key.Cluster, record.Key.Node,
                    $"agent silent for more than {staleAfter.TotalSeconds:F0} s (last report {record.LastActivity:u})");
                PublishNode(record, stale: true);
            }
        }
    }

    private void Evaluate(NodeRecord record, DateTimeOffset now)
    {
        var input = new NodeHealthInput(record.Key.Cluster, record.Key.Node, record.Hello.Identity.Region, record.Snapshot,
            record.LastActivity, record.Connected, record.Archive, OtherWritablePrimary(record, now));
        foreach (var transition in Tracker.Evaluate(input, now))
        {
            var alert = transition.Alert;
            MonitorLog.AlertTransition(logger, alert.Rule, alert.Cluster, alert.Node, transition.From.ToString(), transition.To.ToString(), transition.Reason);
            recorder.RecordAlert(alert);
            // Pending is a candidate, not news: events record what fired and what recovered from firing.
            if (transition.To == AlertState.Firing || (transition.To == AlertState.Resolved && transition.From == AlertState.Firing))
            {
                recorder.Record(EventKind.Alert, alert.Cluster, alert.Node, $"{alert.Rule} {transition.To.ToString().ToLowerInvariant()}: {alert.Message}", [transition.Reason]);
            }

            feed.Publish(alert.Cluster, new FleetChange { Time = Timestamp.FromDateTimeOffset(now), AlertChanged = alert });
        }
    }

    /// <summary>
    /// For a node that accepts writes, another node of its cluster that does too by its current report (the
    /// split_brain rule); null otherwise. Looked up only for writable nodes, normally one per cluster.
    /// </summary>
    private string? OtherWritablePrimary(NodeRecord record, DateTimeOffset now)
    {
        var staleAfter = options.Value.Link.StaleAfter;
        if (!AcceptsWrites(record, now, staleAfter))
        {
            return null;
        }

        foreach (var other in fleet.ClusterNodes(record.Key.Cluster))
        {
            if (other.Key != record.Key && AcceptsWrites(other, now, staleAfter))
            {
                return other.Key.Node;
            }
        }

        return null;
    }

    private static bool AcceptsWrites(NodeRecord record, DateTimeOffset now, TimeSpan staleAfter) =>
        record.Connected && !record.Fenced && now - record.LastActivity <= staleAfter
        && record.Snapshot is { Role: NodeRole.Primary, PostgresState: PostgresState.Up };

    private void OnChanged(NodeRecord? previous, NodeRecord current)
    {
        var key = current.Key;
        if (previous is null || (!previous.Connected && current.Connected) || previous.SessionId != current.SessionId)
        {
            _presence[key] = AgentPresence.Connected;
            recorder.Record(EventKind.NodePresence, key.Cluster, key.Node,
                previous is null ? $"node appeared: agent {current.Hello.AgentVersion} connected from {current.Peer}" : $"agent reconnected from {current.Peer}");
        }
        else if (previous.Connected && !current.Connected)
        {
            _presence[key] = AgentPresence.Disconnected;
            recorder.Record(EventKind.NodePresence, key.Cluster, key.Node, "agent disconnected");
        }

        if (previous is not null && previous.Snapshot is not null && current.Snapshot is not null && previous.Role != current.Role)
        {
            recorder.Record(EventKind.RoleChanged, key.Cluster, key.Node,
                $"role changed from {previous.Role.ToString().ToLowerInvariant()} to {current.Role.ToString().ToLowerInvariant()}");
        }

        if (feed.HasWatchers)
        {
            PublishNode(current, stale: false, appeared: previous is null);
        }
    }

    private void PublishNode(NodeRecord record, bool stale, bool appeared = false)
    {
        var node = reader.ToNode(record, includeSnapshot: true);
        var change = new FleetChange { Time = Timestamp.FromDateTimeOffset(time.GetUtcNow()) };
        if (stale)
        {
            change.NodeStale = node;
        }
        else if (appeared)
        {
            change.NodeAppeared = node;
        }
        else
        {
            change.NodeUpdated = node;
        }

        feed.Publish(record.Key.Cluster, change);
    }
}
