using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>fleet_pg_*: liveness, role, version, timeline, and the WAL positions of a primary or replica.</summary>
internal static class PostgresServerMetrics
{
    public static void Write(PrometheusTextWriter w, NodeSnapshot snapshot)
    {
        w.WriteGauge("fleet_pg_up", "1 when PostgreSQL accepts connections and the collection queries ran, else 0.", MetricLabels.Bool(snapshot.PostgresState == PostgresState.Up));
        w.BeginFamily("fleet_pg_state", PrometheusMetricType.Gauge, "PostgreSQL state as the agent sees it; one series with value 1.");
        w.Sample("state", MetricLabels.State(snapshot.PostgresState), 1);
        w.BeginFamily("fleet_pg_role", PrometheusMetricType.Gauge, "Role from pg_is_in_recovery(); one series with value 1.");
        w.Sample("role", MetricLabels.Role(snapshot.Role), 1);
        if (snapshot.ServerVersionNum != 0)
        {
            w.WriteGauge("fleet_pg_server_version_num", "server_version_num, e.g. 170002.", snapshot.ServerVersionNum);
        }

        if (snapshot.HasTimeline)
        {
            w.WriteGauge("fleet_pg_timeline", "Current timeline (on a replica: the one being replayed).", snapshot.Timeline);
        }

        if (snapshot.Primary is { } primary)
        {
            WritePrimary(w, primary);
        }

        if (snapshot.Replica is { } replica)
        {
            WriteReplica(w, replica);
        }
    }

    private static void WritePrimary(PrometheusTextWriter w, NodeSnapshot.Types.Primary primary)
    {
        WriteLsn(w, "fleet_pg_wal_current_lsn_bytes", "pg_current_wal_lsn() as a byte position; its rate() is WAL written per second.", primary.CurrentLsn);
        WriteLsn(w, "fleet_pg_wal_insert_lsn_bytes", "pg_current_wal_insert_lsn() as a byte position.", primary.InsertLsn);
        WriteLsn(w, "fleet_pg_wal_flush_lsn_bytes", "pg_current_wal_flush_lsn() as a byte position.", primary.FlushLsn);
        w.WriteGauge("fleet_pg_synchronous_replication_enabled", "1 when synchronous_standby_names is set, else 0.", MetricLabels.Bool(primary.SynchronousStandbyNames.Length > 0));
    }

    private static void WriteReplica(PrometheusTextWriter w, NodeSnapshot.Types.Replica replica)
    {
        WriteLsn(w, "fleet_pg_wal_receive_lsn_bytes", "pg_last_wal_receive_lsn() as a byte position.", replica.ReceiveLsn);
        WriteLsn(w, "fleet_pg_wal_replay_lsn_bytes", "pg_last_wal_replay_lsn() as a byte position.", replica.ReplayLsn);
        if (replica.HasReplayDelaySeconds)
        {
            w.WriteGauge("fleet_pg_replica_replay_delay_seconds", "now() - pg_last_xact_replay_timestamp(), in seconds.", replica.ReplayDelaySeconds);
        }

        w.WriteGauge("fleet_pg_replica_replay_paused", "1 when WAL replay is paused, else 0.", MetricLabels.Bool(replica.ReplayPaused));
        var receiver = replica.WalReceiver;
        w.WriteGauge("fleet_pg_wal_receiver_up", "1 when a WAL receiver is running, else 0 (upstream lost, or replaying from the archive).", MetricLabels.Bool(receiver is not null));
        if (receiver is null)
        {
            return;
        }

        w.BeginFamily("fleet_pg_wal_receiver_info", PrometheusMetricType.Gauge, "The WAL receiver's status and upstream; one series with value 1.");
        w.BeginSample();
        w.Label("status", MetricLabels.Bounded(receiver.Status, MetricLabels.WalReceiverStatuses));
        w.Label("sender_host", receiver.SenderHost);
        w.Label("sender_port", receiver.SenderPort);
        w.Label("slot", receiver.SlotName);
        w.EndSample(1);
        if (receiver.ReceivedTimeline != 0)
        {
            w.WriteGauge("fleet_pg_wal_receiver_timeline", "Timeline of the last WAL received.", receiver.ReceivedTimeline);
        }

        if (receiver.LastMsgSendTime is { } sent)
        {
            w.WriteGauge("fleet_pg_wal_receiver_last_message_send_timestamp_seconds", "Send time of the last message from the upstream (its clock), in Unix seconds.", MetricLabels.UnixSeconds(sent));
        }

        if (receiver.LastMsgReceiptTime is { } received)
        {
            w.WriteGauge("fleet_pg_wal_receiver_last_message_receipt_timestamp_seconds", "Receipt time of the last message from the upstream (local clock), in Unix seconds.", MetricLabels.UnixSeconds(received));
        }
    }

    /// <summary>An LSN gauge; 0 means unknown (InvalidXLogRecPtr), which writes nothing.</summary>
    private static void WriteLsn(PrometheusTextWriter w, string name, string help, ulong lsn)
    {
        if (lsn != 0)
        {
            w.BeginFamily(name, PrometheusMetricType.Gauge, help);
            w.Sample(lsn);
        }
    }
}
