using System.Threading.Channels;
using Fleet.Protos.V1;

namespace Fleet.Agent.Collection;

/// <summary>
/// The latest snapshot of the local node, published by the collection loop and read by the link client,
/// /metrics, the role checks and AgentService. Subscribers get a channel of capacity one: when they fall
/// behind, the newest snapshot replaces the unread one, so nothing buffers without bound.
/// </summary>
public sealed class SnapshotBoard
{
    private readonly Lock _lock = new();
    private readonly List<Channel<NodeSnapshot>> _subscribers = [];
    private NodeSnapshot? _current;

    public NodeSnapshot? Current => Volatile.Read(ref _current);

    public void Publish(NodeSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        lock (_lock)
        {
            Volatile.Write(ref _current, snapshot);
            foreach (var subscriber in _subscribers)
            {
                subscriber.Writer.TryWrite(snapshot);
            }
        }
    }

    /// <summary>Snapshots from now on (starting with the current one, if any); dispose to unsubscribe.</summary>
    public Subscription Subscribe()
    {
        var channel = Channel.CreateBounded<NodeSnapshot>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        lock (_lock)
        {
            if (_current is not null)
            {
                channel.Writer.TryWrite(_current);
            }

            _subscribers.Add(channel);
        }

        return new Subscription(this, channel);
    }

    public sealed class Subscription : IDisposable
    {
        private readonly SnapshotBoard _board;
        private readonly Channel<NodeSnapshot> _channel;

        internal Subscription(SnapshotBoard board, Channel<NodeSnapshot> channel)
        {
            _board = board;
            _channel = channel;
        }

        public ChannelReader<NodeSnapshot> Reader => _channel.Reader;

        public void Dispose()
        {
            lock (_board._lock)
            {
                _board._subscribers.Remove(_channel);
            }

            _channel.Writer.TryComplete();
        }
    }
}
