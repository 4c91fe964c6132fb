using System.Threading.Channels;
using Fleet.Protos.V1;

namespace Fleet.Aggregator.State;

/// <summary>
/// Fans fleet changes out to watchers (FleetService.Watch, the dashboard's live feed). Each watcher has
/// a bounded queue; one that falls too far behind is dropped with a reason rather than slowing ingest
/// or growing memory, and reconnects to get a fresh initial state.
/// </summary>
public sealed class FleetChangeFeed
{
    public const int WatcherQueueCapacity = 20_000;

    private readonly Lock _lock = new();
    private Watcher[] _watchers = [];

    public bool HasWatchers => Volatile.Read(ref _watchers).Length > 0;

    public Watcher Subscribe(string? cluster)
    {
        var watcher = new Watcher(this, string.IsNullOrEmpty(cluster) ? null : cluster);
        lock (_lock)
        {
            _watchers = [.. _watchers, watcher];
        }

        return watcher;
    }

    public void Publish(string cluster, FleetChange change)
    {
        foreach (var watcher in Volatile.Read(ref _watchers))
        {
            if (watcher.Cluster is null || watcher.Cluster == cluster)
            {
                watcher.Offer(change);
            }
        }
    }

    private void Remove(Watcher watcher)
    {
        lock (_lock)
        {
            _watchers = [.. _watchers.Where(w => w != watcher)];
        }
    }

    public sealed class Watcher : IDisposable
    {
        private readonly FleetChangeFeed _feed;
        private readonly Channel<FleetChange> _channel = Channel.CreateBounded<FleetChange>(
            new BoundedChannelOptions(WatcherQueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

        internal Watcher(FleetChangeFeed feed, string? cluster)
        {
            _feed = feed;
            Cluster = cluster;
        }

        public string? Cluster { get; }

        /// <summary>True once the watcher was dropped for falling behind.</summary>
        public bool Overflowed { get; private set; }

        public ChannelReader<FleetChange> Reader => _channel.Reader;

        public void Dispose()
        {
            _feed.Remove(this);
            _channel.Writer.TryComplete();
        }

        internal void Offer(FleetChange change)
        {
            if (!_channel.Writer.TryWrite(change) && !Overflowed)
            {
                Overflowed = true;
                _channel.Writer.TryComplete();
                _feed.Remove(this);
            }
        }
    }
}
