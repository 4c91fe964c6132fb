using Fleet.Agent.Collection;
using Fleet.Agent.State;
using Fleet.Protos.V1;

namespace Fleet.Agent.Actions;

/// <summary>
/// Every 100 ms, three guards: (1) a primary whose lease expired and which lost a majority of its
/// replicas is fenced (stopped) before the aggregator can have promoted anyone (<see cref="SelfFencing.Decide"/>);
/// (2) a primary whose postmaster died is declared down and fenced at once, and reported, so the
/// aggregator can take the fast path — unless it has no replica to fail over to: then it is restarted in place; (3) a node that must stay down and is found running again is
/// stopped again, so an old primary restarted behind Fleet's back never keeps serving writes; (4) a primary
/// whose PostgreSQL does not answer (frozen) or whose storage is stalled is killed and declared down and fenced
/// (<see cref="UnresponsiveFencing.Decide"/>).
/// </summary>
internal sealed class SelfFencingLoop(
    SnapshotBoard board, AgentState state, LeaseClock lease, PostgresActions actions, ISnapshotRefresher refresher,
    Responsiveness responsiveness, StorageHealth storage, DetectionTiming detection,
    Microsoft.Extensions.Options.IOptions<Configuration.AgentOptions> options, TimeProvider time, ILogger<SelfFencingLoop> logger)
    : BackgroundService
{
    private static readonly TimeSpan KillRetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>How long a standby may go without a new reply and still count, before a Welcome names the replication timeout.</summary>
    private static readonly TimeSpan PresenceWindow = TimeSpan.FromSeconds(2);

    private readonly ReplicaPresence _presence = new();
    private NodeSnapshot? _observed;
    private TimeSpan _killNotBefore;

    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RestartBudget = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RestartRetryDelay = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var snapshot = board.Current;
            var isPrimary = snapshot is { Role: NodeRole.Primary, PostgresState: PostgresState.Up };
            // Only a primary the aggregator manages (it was granted a lease) is fenced on a crash: a standalone agent just reports.
            if (isPrimary && !state.Fenced && lease.ExpiresAt is not null && PostmasterDied())
            {
                // With replicas, a failover to one is faster and safer than crash recovery (docs/failover.md);
                // without, crash recovery in place is the only way back. "Without" needs both the last grant
                // (which names the replicas the aggregator knew then) and the last snapshot (standbys streaming
                // before the crash) to be empty: a grant made at start-up may not name replicas yet.
                if (lease.Replicas.Count == 0 && snapshot!.Standbys.Count == 0 && await RestartInPlaceAsync(stoppingToken))
                {
                    continue;
                }

                ActionLog.SelfFencing(logger, "the postmaster of this primary died: declaring it down and fenced (the agent will not restart it)");
                state.SetFenced(true, keepDown: true);
                lease.Release();
                await RefreshAsync(stoppingToken);
                continue;
            }

            // The snapshot may still say UP for a moment after a fence stopped the server: ask the pid file too.
            if (state.KeepDown && snapshot is { PostgresState: PostgresState.Up } && PostmasterProbe.IsRunning(options.Value.Postgres.DataDirectory))
            {
                ActionLog.SelfFencing(logger, "Postgres is running although this node must stay down (fenced): stopping it again");
                await FenceAsync(stoppingToken);
                continue;
            }

            if (await KillIfUnresponsiveAsync(snapshot, stoppingToken))
            {
                continue;
            }

            var now = LeaseClock.Now(time);
            if (snapshot is not null && !ReferenceEquals(snapshot, _observed))
            {
                _observed = snapshot;
                _presence.Observe(snapshot.Standbys, now);
            }

            var attached = _presence.Attached(detection.ReplicationTimeout ?? PresenceWindow);
            var (fence, reason) = SelfFencing.Decide(isPrimary, state.Fenced, lease, now, attached);
            if (!fence)
            {
                continue;
            }

            ActionLog.SelfFencing(logger, reason);
            await FenceAsync(stoppingToken);
        }
    }

    private async Task<bool> KillIfUnresponsiveAsync(NodeSnapshot? snapshot, CancellationToken cancellationToken)
    {
        var now = LeaseClock.Now(time);
        var unanswered = responsiveness.UnansweredFor(now);
        var stalled = storage.StalledFor();
        var (unusableFor, symptom) = stalled > unanswered
            ? (stalled, UnresponsiveFencing.StorageStalled)
            : (unanswered, UnresponsiveFencing.NotAnswering);
        if (unusableFor <= TimeSpan.Zero || now < _killNotBefore)
        {
            return false;
        }

        var isPrimary = snapshot is { Role: NodeRole.Primary, PostgresState: PostgresState.Up or PostgresState.Unresponsive };
        var (kill, reason) = UnresponsiveFencing.Decide(isPrimary, state.Fenced, lease, now, unusableFor, detection.UnresponsiveTimeout, symptom);
        if (!kill)
        {
            return false;
        }

        ActionLog.SelfFencing(logger, reason);
        try
        {
            var killed = PostmasterProbe.KillWithChildren(options.Value.Postgres.DataDirectory
                ?? throw new InvalidOperationException("Postgres:DataDirectory is not configured: the agent cannot find the postmaster to kill"));
            ActionLog.PostgresKilled(logger, killed);
            state.SetFenced(true, keepDown: true);
            lease.Release();
            responsiveness.Reset();
            await RefreshAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ActionLog.SelfFencingFailed(logger, ex);
            _killNotBefore = now + KillRetryDelay;
        }

        return true;
    }

    private async Task FenceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await actions.FenceAsync(FenceMode.Stop, cancellationToken);
            state.SetFenced(true, keepDown: true);
            lease.Release();
            await RefreshAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ActionLog.SelfFencingFailed(logger, ex);
        }
    }

    /// <summary>
    /// Starts the crashed primary again (crash recovery). Its orphaned backends may hold the shared memory
    /// for a moment after the postmaster's death, and pg_ctl fails fast while they do: a few attempts,
    /// bounded by <see cref="RestartBudget"/>. False when it did not come back; the caller then fences.
    /// </summary>
    private async Task<bool> RestartInPlaceAsync(CancellationToken cancellationToken)
    {
        ActionLog.RestartingInPlace(logger);
        var started = time.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await actions.StartAsync(cancellationToken);
                ActionLog.RestartedInPlace(logger, attempt, (long)time.GetElapsedTime(started).TotalMilliseconds);
                await RefreshAsync(cancellationToken);
                return true;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                if (time.GetElapsedTime(started) + RestartRetryDelay > RestartBudget)
                {
                    ActionLog.RestartInPlaceFailed(logger, attempt, ex);
                    return false;
                }
            }

            await Task.Delay(RestartRetryDelay, time, cancellationToken);
        }
    }

    /// <summary>Collects (and so reports) at once: the aggregator should not wait a cycle to learn this.</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            await refresher.CollectNowAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ActionLog.SelfFencingFailed(logger, ex);
        }
    }

    private bool PostmasterDied() => PostmasterProbe.IsDead(options.Value.Postgres.DataDirectory);
}
