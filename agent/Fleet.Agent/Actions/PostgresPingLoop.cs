using Fleet.Agent.Collection;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Actions;

/// <summary>
/// Pings the local PostgreSQL every <see cref="Interval"/> (<see cref="PostgresLivenessProbe"/>: a query on a
/// long-lived session, a fresh connection only when there is none) and records the result
/// in <see cref="Responsiveness"/>. While it does not answer, publishes the last good snapshot marked
/// UNRESPONSIVE with how long, every ping: the collection is stuck in a query meanwhile, and without this the
/// aggregator would hear nothing (silence) instead of "alive agent, frozen PostgreSQL". On a replica, a WAL
/// receiver that stops or starts streaming (read by the same ping) makes the agent collect and report at once:
/// that a majority of replicas lost the primary is what a failover waits for (docs/failover.md, rule 2).
/// </summary>
internal sealed class PostgresPingLoop(
    SnapshotBoard board, Responsiveness responsiveness, PostgresLivenessProbe probe, ISnapshotRefresher refresher, TimeProvider time,
    ILogger<PostgresPingLoop> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);

    private NodeSnapshot? _lastUp;
    private bool? _receiverStreaming;

    // The collection a receiver change asked for. The ping never waits for it: a collection can hang on a
    // server in trouble for up to the statement timeout, and the ping is what reports a server that hangs.
    private Task _receiverReport = Task.CompletedTask;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await PingAsync(stoppingToken);
        }
        finally
        {
            await _receiverReport; // never faults: see ReportReceiverChangeAsync
        }
    }

    private async Task PingAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        var answering = true;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var started = LeaseClock.Now(time);
            var outcome = await probe.PingAsync(Timeout, stoppingToken);
            var unansweredBefore = responsiveness.UnansweredFor(LeaseClock.Now(time));
            responsiveness.Record(outcome, started);
            if (board.Current is { PostgresState: PostgresState.Up } current)
            {
                _lastUp = current;
            }

            if (outcome == PingOutcome.NoAnswer)
            {
                if (answering)
                {
                    ActionLog.PostgresNotAnswering(logger, (long)Timeout.TotalMilliseconds);
                    answering = false;
                }

                PublishUnresponsive(responsiveness.UnansweredFor(LeaseClock.Now(time)));
            }
            else if (outcome == PingOutcome.Answered && probe.WalReceiverStatus is { } receiver && ReceiverChanged(receiver))
            {
                // A change while the previous collection still runs is in the snapshot that one publishes, or the next.
                if (_receiverReport.IsCompleted)
                {
                    _receiverReport = ReportReceiverChangeAsync(stoppingToken);
                }
            }

            if (outcome != PingOutcome.NoAnswer && !answering)
            {
                // Refused after no answer: stopped or killed (the agent logs that itself), not "answers again".
                answering = true;
                if (outcome == PingOutcome.Answered)
                {
                    ActionLog.PostgresAnswersAgain(logger, (long)unansweredBefore.TotalMilliseconds);
                }
            }
        }
    }

    /// <summary>True when the receiver started or stopped streaming since the last ping that read it (logged).</summary>
    private bool ReceiverChanged(string status)
    {
        var streaming = status == "streaming";
        var before = _receiverStreaming;
        _receiverStreaming = streaming;
        if (before is not { } was || was == streaming)
        {
            return false;
        }

        ActionLog.WalReceiverChanged(logger, was ? "streaming" : "not streaming", status.Length == 0 ? "no receiver" : status);
        return true;
    }

    private async Task ReportReceiverChangeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await refresher.CollectNowAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            // The collection loop reports the same at its next cycle.
            ActionLog.WalReceiverCollectFailed(logger, ex);
        }
    }

    private void PublishUnresponsive(TimeSpan unanswered)
    {
        // Keep the role and figures of the last good snapshot: the aggregator must still see who is primary.
        var basis = board.Current is { PostgresState: PostgresState.Unresponsive } current ? current : _lastUp;
        if (basis is null)
        {
            return;
        }

        var snapshot = basis.Clone();
        snapshot.CollectedAt = Timestamp.FromDateTimeOffset(time.GetUtcNow());
        snapshot.PostgresState = PostgresState.Unresponsive;
        snapshot.PostgresUnansweredMs = (ulong)unanswered.TotalMilliseconds;
        snapshot.PostgresError = $"PostgreSQL has not answered the agent's ping for {unanswered.TotalMilliseconds:F0} ms (frozen, stalled or overloaded)";
        board.Publish(snapshot);
    }
}
