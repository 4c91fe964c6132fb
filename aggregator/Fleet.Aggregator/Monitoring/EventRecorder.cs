using System.Threading.Channels;
using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Monitoring;

/// <summary>
/// Persists events and alert changes off the ingest path: callers enqueue and return at once; one
/// writer drains the queue in batches (one transaction each) and then announces each event, with its
/// stored id, to watchers. A batch the store refuses (a shared store unreachable) is kept and tried
/// again with a growing pause (up to 5 s), so a store outage delays history instead of losing it; the
/// bounded queue behind it is what can overflow. With a shared store only the leader writes the fleet's
/// history (<see cref="SharedHistory"/>) and watchers learn of events from <see cref="SharedEventTail"/>.
/// </summary>
internal sealed class EventRecorder(IFleetStore store, FleetChangeFeed feed, ILeadership leadership, TimeProvider time, ILogger<EventRecorder> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(5);

    /// <summary>Far above any burst a region produces; reaching it means the disk has stalled.</summary>
    private const int QueueCapacity = 100_000;
    private const int BatchSize = 500;

    private readonly Channel<Item> _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private long _dropped;

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Record(EventKind kind, string cluster, string node, string message, IEnumerable<string>? reasons = null, string actor = "aggregator")
    {
        if (!SharedHistory.Records(kind, store.IsShared, leadership.IsLeader(time.GetUtcNow())))
        {
            return;
        }

        var fleetEvent = new Event { Time = Timestamp.FromDateTimeOffset(time.GetUtcNow()), Kind = kind, Cluster = cluster, Node = node, Message = message, Actor = actor };
        if (reasons is not null)
        {
            fleetEvent.Reasons.AddRange(reasons);
        }

        Enqueue(new Item(fleetEvent, null));
    }

    public void RecordAlert(Alert alert)
    {
        if (SharedHistory.Records(EventKind.Alert, store.IsShared, leadership.IsLeader(time.GetUtcNow())))
        {
            Enqueue(new Item(null, alert));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Item>(BatchSize);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < BatchSize && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }

                var pause = FirstRetry;
                while (!await TryWriteAsync(batch, stoppingToken))
                {
                    await Task.Delay(pause, time, stoppingToken);
                    pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LastRetry.Ticks));
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: write what is already queued so nothing recorded is lost.
            while (_queue.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            await TryWriteAsync(batch, CancellationToken.None);
        }
    }

    private void Enqueue(Item item)
    {
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Increment(ref _dropped);
            MonitorLog.EventDropped(logger, item.Event?.Message ?? item.Alert?.Message ?? string.Empty);
        }
    }

    /// <summary>Stores the batch; false (logged) when the store refused it, to be tried again whole (alert upserts are idempotent).</summary>
    private async Task<bool> TryWriteAsync(List<Item> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return true;
        }

        try
        {
            foreach (var item in batch)
            {
                if (item.Alert is { } alert)
                {
                    await store.UpsertAlertAsync(alert, cancellationToken);
                }
            }

            var events = batch.Where(i => i.Event is not null).Select(i => i.Event!).ToList();
            if (events.Count == 0)
            {
                return true;
            }

            var ids = await store.AppendEventsAsync(events, cancellationToken);
            if (store.IsShared)
            {
                return true;
            }

            for (var i = 0; i < events.Count; i++)
            {
                events[i].Id = ids[i];
                feed.Publish(events[i].Cluster, new FleetChange { Time = events[i].Time, EventAppended = events[i] });
            }

            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            MonitorLog.StoreWriteFailed(logger, batch.Count, ex);
            return false;
        }
    }

    private sealed record Item(Event? Event, Alert? Alert);
}

/// <summary>Who writes what when the region's aggregators share one store.</summary>
internal static class SharedHistory
{
    /// <summary>
    /// The leader writes the fleet's history, so an incident is recorded once, not once per aggregator.
    /// A follower writes only what happened to it and no other aggregator saw: agents it refused,
    /// operator requests it received. With a store of its own every aggregator writes everything.
    /// </summary>
    public static bool Records(EventKind kind, bool sharedStore, bool leader) =>
        !sharedStore || leader || kind is EventKind.AgentRejected or EventKind.OperatorRequest or EventKind.Leadership;
}
