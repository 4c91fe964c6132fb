using Fleet.Protos.V1;

namespace Fleet.Agent.RoleChecks;

/// <summary>What a load balancer asks: "may I send this kind of traffic to this node?"</summary>
public enum RoleCheckKind
{
    /// <summary>GET /primary, /master, /read-write: a writable primary.</summary>
    Primary,

    /// <summary>GET /replica: a streaming replica, optionally within a lag bound.</summary>
    Replica,

    /// <summary>GET /read-only: a primary or a streaming replica (any node that serves reads).</summary>
    ReadOnly,

    /// <summary>GET /health: Postgres is up, whatever its role.</summary>
    Health,
}

/// <summary>The answer: HTTP 200 when the node qualifies, 503 otherwise, with the reason.</summary>
public readonly record struct RoleCheckResult(bool Passed, string Reason)
{
    public int StatusCode => Passed ? 200 : 503;
}

/// <summary>
/// Decides role checks from the latest snapshot alone, the way HAProxy's "option httpchk" expects
/// Patroni's REST API to answer. Pure: snapshot and facts in, answer out.
/// </summary>
public static class RoleCheck
{
    /// <summary>A snapshot older than this is not trusted: the collection loop has stalled.</summary>
    public static readonly TimeSpan MaxSnapshotAge = TimeSpan.FromSeconds(10);

    public static RoleCheckResult Evaluate(RoleCheckKind kind, NodeSnapshot? snapshot, bool fenced, ulong? maxLagBytes, DateTimeOffset now)
    {
        if (snapshot is null)
        {
            return new(false, "no snapshot collected yet");
        }

        var age = now - snapshot.CollectedAt.ToDateTimeOffset();
        if (age > MaxSnapshotAge)
        {
            return new(false, $"latest snapshot is {age.TotalSeconds:F0} s old");
        }

        if (snapshot.PostgresState != PostgresState.Up)
        {
            return new(false, $"postgres is {Describe(snapshot.PostgresState)}: {snapshot.PostgresError}");
        }

        return kind switch
        {
            RoleCheckKind.Health => new(true, "postgres is up"),
            RoleCheckKind.Primary => Primary(snapshot, fenced),
            RoleCheckKind.Replica => Replica(snapshot, maxLagBytes),
            _ => Primary(snapshot, fenced) is { Passed: true } p ? p : Replica(snapshot, maxLagBytes),
        };
    }

    /// <summary>Bytes received but not yet replayed: the lag a replica can measure on its own.</summary>
    public static ulong ReplayBacklogBytes(NodeSnapshot snapshot) =>
        snapshot.Replica is { } r && r.ReceiveLsn > r.ReplayLsn ? r.ReceiveLsn - r.ReplayLsn : 0;

    private static RoleCheckResult Primary(NodeSnapshot snapshot, bool fenced)
    {
        if (snapshot.Role != NodeRole.Primary)
        {
            return new(false, "node is not the primary");
        }

        return fenced ? new(false, "primary is fenced (read-only)") : new(true, "writable primary");
    }

    private static RoleCheckResult Replica(NodeSnapshot snapshot, ulong? maxLagBytes)
    {
        if (snapshot.Role != NodeRole.Replica)
        {
            return new(false, "node is not a replica");
        }

        var receiver = snapshot.Replica?.WalReceiver;
        if (receiver is null || receiver.Status != "streaming")
        {
            return new(false, receiver is null ? "replica has no WAL receiver (not streaming)" : $"WAL receiver is {receiver.Status}");
        }

        var backlog = ReplayBacklogBytes(snapshot);
        if (maxLagBytes is { } max && backlog > max)
        {
            return new(false, $"replica lags {backlog} bytes > {max}");
        }

        return new(true, "streaming replica");
    }

    private static string Describe(PostgresState state) => state switch
    {
        PostgresState.Down => "down",
        PostgresState.Starting => "starting",
        PostgresState.Stopping => "stopping",
        PostgresState.Unreachable => "unreachable",
        PostgresState.Unresponsive => "unresponsive",
        _ => "in an unknown state",
    };
}
