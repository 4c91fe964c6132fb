using Fleet.Aggregator.Coordination;
using Fleet.Aggregator.State;
using Fleet.Aggregator.Store;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.Monitoring;

/// <summary>
/// With a shared store, how this aggregator's watchers learn of events, whoever wrote them: the store
/// is read every <see cref="Interval"/> for events above the last one seen (the PostgreSQL store makes
/// IDs visible in order, so none is skipped) and each is announced. Does nothing with a store of its
/// own, beyond warning when the aggregator is one of several (Coordination:Mode Etcd) yet keeps history alone.
/// </summary>
internal sealed class SharedEventTail(IFleetStore store, FleetChangeFeed feed, ILeadership leadership, TimeProvider time, ILogger<SharedEventTail> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private const int Page = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!store.IsShared)
        {
            if (leadership.Coordinated)
            {
                // Allowed (a test bench, a first step), but an operator must know what a leader change does to history.
                MonitorLog.HistoryNotShared(logger);
            }

            return;
        }

        // Watchers asked for what happens from now on; older events are theirs to query. The starting point is
        // read at once (an event appended before the first tick is announced), and again on each tick until the
        // store answers, so a store that does not answer at start delays the tail rather than ending it.
        ulong? last = null;
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                last = last is { } seen ? await CatchUpAsync(seen, stoppingToken) : await store.GetLastEventIdAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                MonitorLog.EventTailFailed(logger, last ?? 0, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Announces every stored event above <paramref name="last"/>, page by page; returns the new last ID.</summary>
    internal async Task<ulong> CatchUpAsync(ulong last, CancellationToken cancellationToken)
    {
        while (true)
        {
            var events = await store.GetEventsAfterAsync(last, Page, cancellationToken);
            foreach (var fleetEvent in events)
            {
                feed.Publish(fleetEvent.Cluster, new FleetChange { Time = fleetEvent.Time, EventAppended = fleetEvent });
                last = fleetEvent.Id;
            }

            if (events.Count < Page)
            {
                return last;
            }
        }
    }
}
