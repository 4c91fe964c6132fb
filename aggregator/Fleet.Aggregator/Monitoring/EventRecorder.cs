using System.Threading.Channels;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Aggregator.Monitoring;

/// <summary>
/// Persists events and alert changes off the ingest path: callers enqueue and return at once; one
/// writer drains the queue in batches (one transaction each) and then announces each event, with its
/// stored id, to watchers.
/// </summary>
internal sealed class EventRecorder(IFleetStore store, FleetChangeFeed feed, TimeProvider time, ILogger<EventRecorder> logger) : BackgroundService
{
    /// <summary>Far above any burst a region produces; reaching it means the disk has stalled.</summary>
    private const int QueueCapacity = 100_000;
    private const int BatchSize = 500;

    private readonly Channel<Item> _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private long _dropped;

    public long Dropped => Interlocked.Read(ref _dropped);

    public void Record(EventKind kind, string cluster, string node, string message, IEnumerable<string>? reasons = null, string actor = "aggregator")
    {
        var fleetEvent = new Event { Time = Timestamp.FromDateTimeOffset(time.GetUtcNow()), Kind = kind, Cluster = cluster, Node = node, Message = message, Actor = actor };
        if (reasons is not null)
        {
            fleetEvent.Reasons.AddRange(reasons);
        }

        Enqueue(new Item(fleetEvent, null));
    }

    public void RecordAlert(Alert alert) => Enqueue(new Item(null, alert));

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

                await WriteAsync(batch, stoppingToken);
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

            await WriteAsync(batch, CancellationToken.None);
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

    private async Task WriteAsync(List<Item> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
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
                return;
            }

            var ids = await store.AppendEventsAsync(events, cancellationToken);
            for (var i = 0; i < events.Count; i++)
            {
                events[i].Id = ids[i];
                feed.Publish(events[i].Cluster, new FleetChange { Time = events[i].Time, EventAppended = events[i] });
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            MonitorLog.StoreWriteFailed(logger, batch.Count, ex);
        }
    }

    private sealed record Item(Event? Event, Alert? Alert);
}
