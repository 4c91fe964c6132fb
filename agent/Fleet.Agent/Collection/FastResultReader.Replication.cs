using System.Data.Common;
using System.Globalization;
using Fleet.Protos.V1;

namespace Fleet.Agent.Collection;

// Role, timeline, WAL receiver and standby rows.
internal static partial class FastResultReader
{
    /// <summary>
    /// Role and timeline. A primary's timeline is the one it writes (from its current WAL file name). A
    /// replica's is the timeline of the WAL it receives (pg_stat_wal_receiver.received_tli) while a
    /// receiver runs — the one replay is on or about to switch to — otherwise the newer of the last
    /// restartpoint's timeline and the minimum-recovery-point timeline from pg_control.
    /// </summary>
    private static void ApplyRole(NodeSnapshot snapshot, NodeRow node, NodeSnapshot.Types.WalReceiver? receiver)
    {
        if (!node.InRecovery)
        {
            snapshot.Role = NodeRole.Primary;
            if (node.CurrentWalFile is { Length: >= 8 } file &&
                uint.TryParse(file.AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var timeline))
            {
                snapshot.Timeline = timeline;
            }

            return;
        }

        snapshot.Role = NodeRole.Replica;
        snapshot.Replica = new NodeSnapshot.Types.Replica
        {
            ReceiveLsn = node.ReceiveLsn,
            ReplayLsn = node.ReplayLsn,
            ReplayPaused = node.ReplayPaused,
            WalReceiver = receiver,
        };
        if (node.ReplayDelay is { } delay)
        {
            snapshot.Replica.ReplayDelaySeconds = delay;
        }

        var fromControl = Math.Max(node.CheckpointTimeline, node.MinRecoveryTimeline);
        var received = receiver?.ReceivedTimeline ?? 0;
        var replicaTimeline = received > 0 ? received : fromControl;
        if (replicaTimeline > 0)
        {
            snapshot.Timeline = replicaTimeline;
        }
    }

    private static NodeSnapshot.Types.WalReceiver ReadWalReceiver(DbDataReader reader)
    {
        var receiver = new NodeSnapshot.Types.WalReceiver
        {
            Status = reader.Text(0),
            SenderHost = reader.Text(1),
            SenderPort = reader.UInt32(2),
            SlotName = reader.Text(3),
            ReceivedTimeline = reader.UInt32(4),
        };
        receiver.LastMsgSendTime = reader.NullableTimestamp(5);
        receiver.LastMsgReceiptTime = reader.NullableTimestamp(6);
        return receiver;
    }

    private static NodeSnapshot.Types.Standby ReadStandby(DbDataReader reader)
    {
        var standby = new NodeSnapshot.Types.Standby
        {
            ApplicationName = reader.Text(0),
            ClientAddr = reader.Text(1),
            State = reader.Text(2),
            SyncState = reader.Text(3),
            SentLsn = reader.UInt64(4),
            WriteLsn = reader.UInt64(5),
            FlushLsn = reader.UInt64(6),
            ReplayLsn = reader.UInt64(7),
            LagBytes = reader.UInt64(8),
        };
        if (reader.NullableSeconds(9) is { } write)
        {
            standby.WriteLagSeconds = write;
        }

        if (reader.NullableSeconds(10) is { } flush)
        {
            standby.FlushLagSeconds = flush;
        }

        if (reader.NullableSeconds(11) is { } replay)
        {
            standby.ReplayLagSeconds = replay;
        }

        standby.ReplyTime = reader.NullableTimestamp(12);
        return standby;
    }
}
