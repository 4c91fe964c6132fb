using Fleet.Protos.V1;

namespace Fleet.Aggregator.Health;

/// <summary>The tracker's state for one node. Guarded by the tracker's lock.</summary>
internal sealed class TrackedNode(string cluster, string node)
{
    public string Cluster { get; } = cluster;

    public string Node { get; } = node;

    /// <summary>Active (pending or firing) alerts; a handful at most, so searched linearly.</summary>
    public List<TrackedAlert> Alerts { get; } = [];

    public NodeHistory History { get; } = new();

    public bool Evaluated { get; set; }

    public bool Stale { get; set; }

    public DateTimeOffset LastReportAt { get; set; }

    public DateTimeOffset LastEvaluatedAt { get; set; }

    public int Find(HealthRule rule, string subject)
    {
        var alerts = Alerts;
        for (var i = 0; i < alerts.Count; i++)
        {
            var alert = alerts[i];
            if (ReferenceEquals(alert.Rule, rule) && string.Equals(alert.Subject, subject, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>One active alert. Guarded by the tracker's lock.</summary>
internal sealed class TrackedAlert(HealthRule rule, string subject, ulong sequence, string id)
{
    public HealthRule Rule { get; set; } = rule;

    public string Subject { get; } = subject;

    public ulong Sequence { get; } = sequence;

    public string Id { get; } = id;

    public AlertState State { get; set; } = AlertState.Pending;

    public DateTimeOffset PendingSince { get; set; }

    public DateTimeOffset? FiringSince { get; set; }

    /// <summary>The latest observation in which the condition held.</summary>
    public RuleObservation Last { get; set; }

    /// <summary>Evaluation stamp of the last observation touching this alert.</summary>
    public uint Seen { get; set; }

    /// <summary>Message of an alert restored from the store, until the first fresh observation.</summary>
    public string? RestoredMessage { get; set; }

    public string Message => RestoredMessage ?? Rule.Describe(Last);
}

/// <summary>The newest resolved alerts, bounded; the oldest is dropped when full.</summary>
internal sealed class ResolvedAlertBuffer(int capacity)
{
    private readonly Alert[] _items = new Alert[Math.Max(1, capacity)];
    private int _next;
    private int _count;

    public int Count => _count;

    public void Add(Alert alert)
    {
        _items[_next] = alert;
        _next = (_next + 1) % _items.Length;
        _count = Math.Min(_count + 1, _items.Length);
    }

    /// <summary>Appends the buffered alerts to <paramref name="target"/>, newest first.</summary>
    public void CopyNewestFirst(List<Alert> target, Func<Alert, bool>? filter = null)
    {
        for (var i = 1; i <= _count; i++)
        {
            var alert = _items[(_next - i + _items.Length) % _items.Length];
            if (filter is null || filter(alert))
            {
                target.Add(alert.Clone());
            }
        }
    }
}
