namespace Fleet.Agent.Actions;

/// <summary>
/// Whether the local PostgreSQL answers the agent's protocol ping, on the monotonic clock. Only "no answer"
/// counts: a refused connection is a stopped server, which the postmaster probe and the collection report.
/// Thread-safe: the ping loop writes, the fencing loop and the collection read.
/// </summary>
public sealed class Responsiveness
{
    private readonly Lock _lock = new();
    private TimeSpan? _unansweredSince;

    /// <summary>Records a ping that started at <paramref name="startedAt"/> (monotonic).</summary>
    public void Record(PingOutcome outcome, TimeSpan startedAt)
    {
        lock (_lock)
        {
            _unansweredSince = outcome == PingOutcome.NoAnswer ? _unansweredSince ?? startedAt : null;
        }
    }

    /// <summary>How long PostgreSQL has not answered, counted from the start of the first unanswered ping; zero while it answers.</summary>
    public TimeSpan UnansweredFor(TimeSpan now)
    {
        lock (_lock)
        {
            return _unansweredSince is { } since && now > since ? now - since : TimeSpan.Zero;
        }
    }

    /// <summary>Forgets an unanswered stretch (PostgreSQL was killed or stopped on purpose).</summary>
    public void Reset()
    {
        lock (_lock)
        {
            _unansweredSince = null;
        }
    }
}

/// <summary>
/// Whether a primary whose PostgreSQL does not answer must be killed (SIGKILL of the postmaster and every
/// child) and declared down and fenced. Pure. A frozen server cannot be fenced by SQL or by a fast
/// shutdown (a stopped process handles no signal but SIGKILL), and once it resumes it would serve the
/// writes queued in its sockets; so the agent kills it when either
/// <list type="bullet">
/// <item>it has not answered for the unresponsive timeout (the aggregator keeps granting the lease to an agent
/// that reports this, and takes the fast path once the agent reports the kill), or</item>
/// <item>the lease has expired while it does not answer (the aggregator may promote soon and the usual
/// self-fencing cannot run: pg_stat_replication cannot be read from a server that does not answer).</item>
/// </list>
/// Never without replicas: nobody could take over, and a freeze that ends is better than a dead server.
/// </summary>
public static class UnresponsiveFencing
{
    /// <summary>The symptom of a server that does not answer the ping.</summary>
    public const string NotAnswering = "PostgreSQL has not answered";

    /// <summary>The symptom of a storage that does not complete the probe's write (<see cref="StorageProbe"/>).</summary>
    public const string StorageStalled = "its storage has not completed a write";

    /// <summary>The decision; <paramref name="symptom"/> names what has lasted <paramref name="unansweredFor"/> (<see cref="NotAnswering"/>, or a stalled storage).</summary>
    public static (bool Kill, string Reason) Decide(
        bool isPrimary, bool alreadyFenced, LeaseClock lease, TimeSpan now, TimeSpan unansweredFor, TimeSpan unresponsiveTimeout,
        string symptom = NotAnswering)
    {
        ArgumentNullException.ThrowIfNull(lease);
        if (!isPrimary || alreadyFenced || lease.ExpiresAt is null)
        {
            return (false, "not a primary holding a lease");
        }

        if (unansweredFor <= TimeSpan.Zero)
        {
            return (false, "PostgreSQL answers");
        }

        if (lease.Replicas.Count == 0)
        {
            return (false, $"{symptom} for {Seconds(unansweredFor)}, but the cluster has no replica that could take over");
        }

        if (unansweredFor >= unresponsiveTimeout)
        {
            return (true, $"{symptom} for {Seconds(unansweredFor)} (unresponsive timeout {Seconds(unresponsiveTimeout)}): killing it so a replica can take over");
        }

        if (!lease.IsHeld(now))
        {
            return (true, $"the lease expired while {symptom} for {Seconds(unansweredFor)}: killing it, the only fence a frozen server obeys");
        }

        return (false, $"{symptom} for {Seconds(unansweredFor)}; waiting up to {Seconds(unresponsiveTimeout)}");
    }

    private static string Seconds(TimeSpan value) => $"{value.TotalSeconds:F1} s";
}

/// <summary>
/// The aggregator's detection timing (sent in its Welcome), with the agent's defaults until one arrives.
/// </summary>
public sealed class DetectionTiming
{
    /// <summary>The aggregator's default Failover:FailoverTimeout, used before any Welcome.</summary>
    public static readonly TimeSpan DefaultUnresponsiveTimeout = TimeSpan.FromSeconds(3);

    private readonly Lock _lock = new();
    private TimeSpan _unresponsiveTimeout = DefaultUnresponsiveTimeout;
    private TimeSpan? _replicationTimeout;

    public TimeSpan UnresponsiveTimeout
    {
        get
        {
            lock (_lock)
            {
                return _unresponsiveTimeout;
            }
        }
    }

    /// <summary>wal_sender_timeout / wal_receiver_timeout wanted by the aggregator; null until a Welcome named one.</summary>
    public TimeSpan? ReplicationTimeout
    {
        get
        {
            lock (_lock)
            {
                return _replicationTimeout;
            }
        }
    }

    /// <summary>Raised when a Welcome changed the replication timeout (the settings manager applies it).</summary>
    public event Action? Changed;

    public void Apply(Protos.V1.DetectionSettings? settings)
    {
        if (settings is null)
        {
            return;
        }

        if (settings.UnresponsiveTimeout is { } unresponsive && unresponsive.ToTimeSpan() > TimeSpan.Zero)
        {
            lock (_lock)
            {
                _unresponsiveTimeout = unresponsive.ToTimeSpan();
            }
        }

        var changed = false;
        if (settings.ReplicationTimeout is { } replication && replication.ToTimeSpan() > TimeSpan.Zero)
        {
            lock (_lock)
            {
                changed = _replicationTimeout != replication.ToTimeSpan();
                _replicationTimeout = replication.ToTimeSpan();
            }
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }
}
