using Fleet.Agent.RoleChecks;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Tests.RoleChecks;

/// <summary>The role-check decision alone: snapshot, fencing, lag bound and clock in; 200/503 and a reason out.</summary>
public sealed class RoleCheckTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>A replica that has received 1,600 bytes more than it has replayed.</summary>
    private const ulong Backlog = 1600;

    public enum Node
    {
        Primary,
        FencedPrimary,
        StreamingReplica,
        ReplicaWithoutReceiver,
        ReplicaReceiverWaiting,
        PostgresDown,
        PostgresStarting,
        StalePrimary,
        NoSnapshot,
    }

    [Theory]
    // A writable primary: the only node for /primary; /read-only too; never /replica.
    [InlineData(Node.Primary, RoleCheckKind.Primary, null, 200, "writable primary")]
    [InlineData(Node.Primary, RoleCheckKind.Replica, null, 503, "node is not a replica")]
    [InlineData(Node.Primary, RoleCheckKind.ReadOnly, null, 200, "writable primary")]
    [InlineData(Node.Primary, RoleCheckKind.Health, null, 200, "postgres is up")]
    // A streaming replica: /replica with or without a lag bound, /read-only; never /primary.
    [InlineData(Node.StreamingReplica, RoleCheckKind.Replica, null, 200, "streaming replica")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.Replica, Backlog + 1, 200, "streaming replica")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.Replica, Backlog, 200, "streaming replica")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.Replica, Backlog - 1, 503, "replica lags 1600 bytes > 1599")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.Replica, 0UL, 503, "replica lags 1600 bytes > 0")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.Primary, null, 503, "node is not the primary")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.ReadOnly, null, 200, "streaming replica")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.ReadOnly, Backlog - 1, 503, "replica lags 1600 bytes > 1599")]
    [InlineData(Node.StreamingReplica, RoleCheckKind.Health, null, 200, "postgres is up")]
    // A replica that is not streaming serves no replica traffic, but Postgres itself is healthy.
    [InlineData(Node.ReplicaWithoutReceiver, RoleCheckKind.Replica, null, 503, "replica has no WAL receiver (not streaming)")]
    [InlineData(Node.ReplicaWithoutReceiver, RoleCheckKind.ReadOnly, null, 503, "replica has no WAL receiver (not streaming)")]
    [InlineData(Node.ReplicaWithoutReceiver, RoleCheckKind.Health, null, 200, "postgres is up")]
    [InlineData(Node.ReplicaReceiverWaiting, RoleCheckKind.Replica, null, 503, "WAL receiver is waiting")]
    // A fenced primary takes no writes, and is no replica either.
    [InlineData(Node.FencedPrimary, RoleCheckKind.Primary, null, 503, "primary is fenced (read-only)")]
    [InlineData(Node.FencedPrimary, RoleCheckKind.Replica, null, 503, "node is not a replica")]
    [InlineData(Node.FencedPrimary, RoleCheckKind.ReadOnly, null, 503, "node is not a replica")]
    [InlineData(Node.FencedPrimary, RoleCheckKind.Health, null, 200, "postgres is up")]
    // Postgres not up: every check fails, /health included, with the collector's reason.
    [InlineData(Node.PostgresDown, RoleCheckKind.Primary, null, 503, "postgres is down: connection refused")]
    [InlineData(Node.PostgresDown, RoleCheckKind.Replica, null, 503, "postgres is down: connection refused")]
    [InlineData(Node.PostgresDown, RoleCheckKind.ReadOnly, null, 503, "postgres is down: connection refused")]
    [InlineData(Node.PostgresDown, RoleCheckKind.Health, null, 503, "postgres is down: connection refused")]
    [InlineData(Node.PostgresStarting, RoleCheckKind.Health, null, 503, "postgres is starting: 57P03: the database system is starting up")]
    // A snapshot the collection loop has not refreshed for too long is not trusted, whatever it says.
    [InlineData(Node.StalePrimary, RoleCheckKind.Primary, null, 503, "latest snapshot is 11 s old")]
    [InlineData(Node.StalePrimary, RoleCheckKind.Health, null, 503, "latest snapshot is 11 s old")]
    [InlineData(Node.NoSnapshot, RoleCheckKind.Primary, null, 503, "no snapshot collected yet")]
    [InlineData(Node.NoSnapshot, RoleCheckKind.Health, null, 503, "no snapshot collected yet")]
    public void Evaluate_Table(Node node, RoleCheckKind kind, ulong? maxLagBytes, int expectedStatus, string expectedReason)
    {
        var result = RoleCheck.Evaluate(kind, Snapshot(node), fenced: node == Node.FencedPrimary, maxLagBytes, Now);

        Assert.Equal((expectedStatus, expectedReason), (result.StatusCode, result.Reason));
        Assert.Equal(expectedStatus == 200, result.Passed);
    }

    [Fact]
    public void Evaluate_SnapshotExactlyMaxAgeOld_IsStillTrusted()
    {
        var snapshot = Snapshot(Node.Primary)!;
        snapshot.CollectedAt = Timestamp.FromDateTimeOffset(Now - RoleCheck.MaxSnapshotAge);

        Assert.True(RoleCheck.Evaluate(RoleCheckKind.Primary, snapshot, fenced: false, null, Now).Passed);
        Assert.False(RoleCheck.Evaluate(RoleCheckKind.Primary, snapshot, fenced: false, null, Now + TimeSpan.FromMilliseconds(1)).Passed);
    }

    [Fact]
    public void Evaluate_FencedFlagOnReplica_DoesNotMatterForReplicaChecks()
    {
        var result = RoleCheck.Evaluate(RoleCheckKind.Replica, Snapshot(Node.StreamingReplica), fenced: true, null, Now);

        Assert.True(result.Passed, result.Reason);
    }

    [Theory]
    [InlineData(5000UL, 3000UL, 2000UL)]
    [InlineData(3000UL, 3000UL, 0UL)]
    [InlineData(3000UL, 5000UL, 0UL)] // replayed beyond received (restored from the archive): no backlog, not a wrap-around
    public void ReplayBacklogBytes_ReceivedMinusReplayedNeverNegative(ulong received, ulong replayed, ulong expected)
    {
        var snapshot = new NodeSnapshot { Replica = new NodeSnapshot.Types.Replica { ReceiveLsn = received, ReplayLsn = replayed } };

        Assert.Equal(expected, RoleCheck.ReplayBacklogBytes(snapshot));
    }

    [Fact]
    public void ReplayBacklogBytes_Primary_IsZero() => Assert.Equal(0UL, RoleCheck.ReplayBacklogBytes(Snapshot(Node.Primary)!));

    private static NodeSnapshot? Snapshot(Node node)
    {
        var up = new NodeSnapshot { CollectedAt = Timestamp.FromDateTimeOffset(Now - TimeSpan.FromSeconds(1)), PostgresState = PostgresState.Up, Timeline = 1 };
        switch (node)
        {
            case Node.Primary or Node.FencedPrimary:
                up.Role = NodeRole.Primary;
                up.Primary = new NodeSnapshot.Types.Primary { CurrentLsn = 0x3000000 };
                return up;
            case Node.StalePrimary:
                up.Role = NodeRole.Primary;
                up.CollectedAt = Timestamp.FromDateTimeOffset(Now - RoleCheck.MaxSnapshotAge - TimeSpan.FromSeconds(1));
                return up;
            case Node.StreamingReplica or Node.ReplicaWithoutReceiver or Node.ReplicaReceiverWaiting:
                up.Role = NodeRole.Replica;
                up.Replica = new NodeSnapshot.Types.Replica { ReceiveLsn = 0x3000000 + Backlog, ReplayLsn = 0x3000000 };
                up.Replica.WalReceiver = node switch
                {
                    Node.StreamingReplica => new NodeSnapshot.Types.WalReceiver { Status = "streaming", SenderHost = "10.0.0.1", SenderPort = 5432 },
                    Node.ReplicaReceiverWaiting => new NodeSnapshot.Types.WalReceiver { Status = "waiting" },
                    _ => null,
                };
                return up;
            case Node.PostgresDown:
                return new NodeSnapshot
                {
                    CollectedAt = up.CollectedAt, PostgresState = PostgresState.Down, PostgresError = "connection refused", Role = NodeRole.Unknown,
                };
            case Node.PostgresStarting:
                return new NodeSnapshot
                {
                    CollectedAt = up.CollectedAt,
                    PostgresState = PostgresState.Starting,
                    PostgresError = "57P03: the database system is starting up",
                    Role = NodeRole.Unknown,
                };
            default:
                return null;
        }
    }
}

public sealed class LagBoundTests
{
    [Theory]
    [InlineData("0", 0UL)]
    [InlineData("1048576", 1048576UL)]
    [InlineData("512B", 512UL)]
    [InlineData("16kB", 16UL * 1024)]
    [InlineData("16kb", 16UL * 1024)]
    [InlineData("16MB", 16UL * 1024 * 1024)]
    [InlineData("2 GB", 2UL * 1024 * 1024 * 1024)]
    [InlineData("1TB", 1UL << 40)]
    public void TryParse_BytesOrUnits(string text, ulong expected)
    {
        Assert.True(Fleet.Agent.RoleChecks.LagBound.TryParse(text, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("MB")]
    [InlineData("-1")]
    [InlineData("1.5MB")]
    [InlineData("16XB")]
    [InlineData("20000000TB")]
    public void TryParse_Rejects(string text)
    {
        Assert.False(Fleet.Agent.RoleChecks.LagBound.TryParse(text, out _));
    }
}
