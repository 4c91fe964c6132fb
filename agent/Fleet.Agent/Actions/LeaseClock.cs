namespace Fleet.Agent.Actions;

/// <summary>
/// The primary lease as the agent sees it. Pure: time is passed in (monotonic, from a TimeProvider).
/// A grant answers a report; the lease runs from when that report was SENT, which is earlier than when
/// the aggregator granted it, so the agent's lease always ends before the aggregator believes it does.
/// </summary>
public sealed class LeaseClock
{
    private const int RememberedReports = 64;
    private readonly Dictionary<ulong, TimeSpan> _sentAt = [];
    private readonly Queue<ulong> _order = new();

    // Reports go out on every aggregator link while grants arrive on the leader's: both at once.
    private readonly Lock _lock = new();
    private TimeSpan? _expiresAt;

    /// <summary>End of the current lease on the monotonic clock; null when no lease was ever granted.</summary>
    public TimeSpan? ExpiresAt
    {
        get
        {
            lock (_lock)
            {
                return _expiresAt;
            }
        }
    }

    public ulong Epoch { get; private set; }

    public ulong ReportSequence { get; private set; }

    /// <summary>Replicas named by the last grant: the majority for self-fencing is counted over them.</summary>
    public IReadOnlyList<string> Replicas { get; private set; } = [];

    /// <summary>The monotonic clock leases are measured on (immune to wall-clock steps).</summary>
    public static TimeSpan Now(TimeProvider time) => TimeSpan.FromSeconds(time.GetTimestamp() / (double)time.TimestampFrequency);

    public void ReportSent(ulong sequence, TimeSpan at)
    {
        lock (_lock)
        {
            _sentAt[sequence] = at;
            _order.Enqueue(sequence);
            while (_order.Count > RememberedReports)
            {
                _sentAt.Remove(_order.Dequeue());
            }
        }
    }

    /// <summary>Applies a grant; returns false (ignored) for a grant of a report this agent did not send recently.</summary>
    public bool Grant(ulong reportSequence, TimeSpan duration, ulong epoch, IReadOnlyList<string> replicas)
    {
        lock (_lock)
        {
            if (!_sentAt.TryGetValue(reportSequence, out var sentAt))
            {
                return false;
            }

            var expires = sentAt + duration;
            if (_expiresAt is null || expires > _expiresAt)
            {
                _expiresAt = expires;
                ReportSequence = reportSequence;
            }

            Epoch = Math.Max(Epoch, epoch);
            Replicas = replicas;
            return true;
        }
    }

    public bool IsHeld(TimeSpan now) => ExpiresAt is { } end && now < end;

    public TimeSpan Remaining(TimeSpan now) => ExpiresAt is { } end && end > now ? end - now : TimeSpan.Zero;

    /// <summary>Forgets the lease (the node is no longer primary).</summary>
    public void Release()
    {
        lock (_lock)
        {
            _expiresAt = null;
            Replicas = [];
        }
    }
}

/// <summary>
/// Whether a primary must fence itself: only when its lease has expired AND it has lost a majority of the
/// replicas named in its last grant (the caller passes those still attached: <see cref="ReplicaPresence"/>). Pure. A primary that only lost the aggregator keeps serving: the
/// aggregator cannot fail over while those replicas still stream from it.
/// </summary>
public static class SelfFencing
{
    public static (bool Fence, string Reason) Decide(bool isPrimary, bool alreadyFenced, LeaseClock lease, TimeSpan now, IReadOnlyCollection<string> attachedReplicas)
    {
        ArgumentNullException.ThrowIfNull(lease);
        ArgumentNullException.ThrowIfNull(attachedReplicas);
        if (!isPrimary || alreadyFenced || lease.ExpiresAt is null)
        {
            return (false, "not a primary holding a lease");
        }

        if (lease.IsHeld(now))
        {
            return (false, $"lease held for {lease.Remaining(now).TotalMilliseconds:F0} ms more");
        }

        var replicas = lease.Replicas;
        if (replicas.Count == 0)
        {
            // Nobody to promote, so nobody can take over: fencing would only cause an outage.
            return (false, "lease expired, but the cluster has no replica that could take over");
        }

        var connected = replicas.Count(attachedReplicas.Contains);
        var majority = (replicas.Count / 2) + 1;
        return connected >= majority
            ? (false, $"lease expired, but {connected} of {replicas.Count} replicas still stream from this primary")
            : (true, $"lease expired and only {connected} of {replicas.Count} replicas stream from this primary (majority {majority}): fencing before a replica can be promoted");
    }
}

/// <summary>
/// Which replicas still talk to this primary, for self-fencing. A standby counts while its reply_time keeps
/// changing (standbys reply every wal_receiver_status_interval, 1 s), until it has not changed for
/// <c>window</c>: a WAL receiver that restarts (its row gone for a second) still counts, while a standby cut off
/// silently (its row kept by the WAL sender until wal_sender_timeout, its replies stopped) stops counting as
/// soon as its replies stop. Time is the agent's monotonic clock when each new snapshot was observed, and the
/// judgement is made as of the latest snapshot: an agent that was itself frozen does not take its own silence
/// for its replicas'. Pure.
/// </summary>
public sealed class ReplicaPresence
{
    private readonly Dictionary<string, (Google.Protobuf.WellKnownTypes.Timestamp? Reply, TimeSpan ChangedAt)> _seen = new(StringComparer.Ordinal);
    private TimeSpan _latest;

    /// <summary>Records the streaming standbys of a new snapshot, first seen at <paramref name="now"/>.</summary>
    public void Observe(IEnumerable<Protos.V1.NodeSnapshot.Types.Standby> standbys, TimeSpan now)
    {
        ArgumentNullException.ThrowIfNull(standbys);
        _latest = now;
        foreach (var standby in standbys)
        {
            if (standby.State != "streaming")
            {
                continue;
            }

            // Without a reply_time (never replied yet), presence is the row itself, as before.
            if (standby.ReplyTime is null || !_seen.TryGetValue(standby.ApplicationName, out var last) || !Equals(last.Reply, standby.ReplyTime))
            {
                _seen[standby.ApplicationName] = (standby.ReplyTime, now);
            }
        }
    }

    /// <summary>Replicas heard from (a changed reply) within <paramref name="window"/> before the latest snapshot.</summary>
    public IReadOnlySet<string> Attached(TimeSpan window) =>
        _seen.Where(s => _latest - s.Value.ChangedAt <= window).Select(s => s.Key).ToHashSet(StringComparer.Ordinal);
}
