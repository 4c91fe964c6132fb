using Fleet.Agent.Configuration;
using Fleet.Agent.State;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Collection;

/// <summary>
/// Collects every CollectionOptions.Interval and publishes to the <see cref="SnapshotBoard"/>. Collections
/// are serialised: an on-demand <see cref="CollectNowAsync"/> waits for a running cycle and never overlaps
/// it. Logs PostgreSQL state changes only; an unexpected exception is logged and the loop continues.
/// </summary>
internal sealed class CollectionLoop : BackgroundService, ISnapshotRefresher
{
    private readonly PostgresCollector _collector;
    private readonly SnapshotBoard _board;
    private readonly CollectionOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CollectionLoop> _logger;
    private readonly DetectionProblem _detectionProblem;
    private readonly StorageHealth? _storage;
    private readonly CollectionStats _stats;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgresState _lastState = PostgresState.Unspecified;

    public CollectionLoop(
        PostgresCollector collector, SnapshotBoard board, IOptions<AgentOptions> options, TimeProvider time, ILogger<CollectionLoop> logger,
        DetectionProblem? detectionProblem = null, StorageHealth? storage = null, CollectionStats? stats = null)
    {
        _stats = stats ?? new CollectionStats();
        _detectionProblem = detectionProblem ?? new DetectionProblem();
        _storage = storage;
        _collector = collector;
        _board = board;
        _options = options.Value.Collection;
        _time = time;
        _logger = logger;
    }

    /// <summary>Collects and publishes a snapshot now, after any cycle in progress; returns the published snapshot.</summary>
    public async Task<NodeSnapshot> CollectNowAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            NodeSnapshot snapshot;
            var started = _time.GetTimestamp();
            var failed = false;
            try
            {
                snapshot = await _collector.CollectAsync(cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                failed = true;
                CollectionLog.CollectionFailed(_logger, e);
                var reason = $"collector failed: {PostgresFailure.Short(e.Message)}";
                snapshot = new NodeSnapshot
                {
                    CollectedAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
                    PostgresState = PostgresState.Unreachable,
                    PostgresError = reason,
                    Role = NodeRole.Unknown,
                };
                snapshot.CollectionErrors.Add(reason);
            }

            _stats.Record(_time.GetElapsedTime(started), failed);
            snapshot.DetectionProblem = _detectionProblem.Text ?? string.Empty;
            MarkStorageStall(snapshot);
            _board.Publish(snapshot);
            LogStateChange(snapshot);
            return snapshot;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>
    /// A server that answers every query while its storage is stalled is not up: its commits wait. Reported
    /// as unresponsive, as a frozen one is (the aggregator and the self-fencing loop treat both alike).
    /// </summary>
    private void MarkStorageStall(NodeSnapshot snapshot)
    {
        if (snapshot.PostgresState != PostgresState.Up || _storage?.StalledFor() is not { } stalled || stalled <= TimeSpan.Zero)
        {
            return;
        }

        snapshot.PostgresState = PostgresState.Unresponsive;
        snapshot.PostgresUnansweredMs = (ulong)stalled.TotalMilliseconds;
        snapshot.PostgresError = StorageHealth.Describe(_storage.Path, stalled);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        CollectionLog.LoopStarted(_logger, _options.Interval, _options.SlowInterval);
        using var timer = new PeriodicTimer(_options.Interval, _time);
        try
        {
            do
            {
                try
                {
                    await CollectNowAsync(stoppingToken);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    CollectionLog.CollectionFailed(_logger, e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutdown.
        }
    }

    private void LogStateChange(NodeSnapshot snapshot)
    {
        var previous = _lastState;
        _lastState = snapshot.PostgresState;
        if (snapshot.PostgresState == previous)
        {
            return;
        }

        if (snapshot.PostgresState == PostgresState.Up)
        {
            CollectionLog.PostgresUp(_logger, snapshot.ServerVersion, snapshot.Role, previous);
        }
        else
        {
            CollectionLog.PostgresNotUp(_logger, snapshot.PostgresState, snapshot.PostgresError, previous);
        }
    }
}
