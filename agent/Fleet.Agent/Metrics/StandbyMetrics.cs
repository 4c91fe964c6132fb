using System.Buffers;
using System.Globalization;
using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;
using Google.Protobuf.Collections;

namespace Fleet.Agent.Metrics;

/// <summary>
/// fleet_pg_replication_*: one set of series per row of pg_stat_replication (label <c>standby</c>, the
/// application_name). Bounded by max_wal_senders. Rows sharing an application_name (two pg_basebackup runs,
/// say) get "#2", "#3"... appended in row order, so series never collide.
/// </summary>
internal static class StandbyMetrics
{
    private const string Label = "standby";

    public static void Write(PrometheusTextWriter w, NodeSnapshot snapshot)
    {
        var standbys = snapshot.Standbys;
        if (snapshot.PostgresState == PostgresState.Up)
        {
            w.WriteGauge("fleet_pg_replication_standbys", "Standbys (and other WAL senders) streaming from this node.", standbys.Count);
        }

        if (standbys.Count == 0)
        {
            return;
        }

        var names = ArrayPool<string>.Shared.Rent(standbys.Count);
        try
        {
            UniqueNames(standbys, names);
            WriteInfo(w, standbys, names);
            w.BeginFamily("fleet_pg_replication_lag_bytes", PrometheusMetricType.Gauge, "This node's current WAL position minus the standby's replay position, in bytes.");
            for (var i = 0; i < standbys.Count; i++)
            {
                w.Sample(Label, names[i], standbys[i].LagBytes);
            }

            WriteOptional(w, standbys, names, "fleet_pg_replication_write_lag_seconds", "pg_stat_replication.write_lag, in seconds; absent while idle.", static s => s.HasWriteLagSeconds ? s.WriteLagSeconds : null);
            WriteOptional(w, standbys, names, "fleet_pg_replication_flush_lag_seconds", "pg_stat_replication.flush_lag, in seconds; absent while idle.", static s => s.HasFlushLagSeconds ? s.FlushLagSeconds : null);
            WriteOptional(w, standbys, names, "fleet_pg_replication_replay_lag_seconds", "pg_stat_replication.replay_lag, in seconds; absent while idle.", static s => s.HasReplayLagSeconds ? s.ReplayLagSeconds : null);
            WriteOptional(w, standbys, names, "fleet_pg_replication_sent_lsn_bytes", "Last WAL position sent to the standby, as a byte position.", static s => Lsn(s.SentLsn));
            WriteOptional(w, standbys, names, "fleet_pg_replication_write_lsn_bytes", "Last WAL position written by the standby, as a byte position.", static s => Lsn(s.WriteLsn));
            WriteOptional(w, standbys, names, "fleet_pg_replication_flush_lsn_bytes", "Last WAL position flushed by the standby, as a byte position.", static s => Lsn(s.FlushLsn));
            WriteOptional(w, standbys, names, "fleet_pg_replication_replay_lsn_bytes", "Last WAL position replayed by the standby, as a byte position.", static s => Lsn(s.ReplayLsn));
        }
        finally
        {
            ArrayPool<string>.Shared.Return(names, clearArray: true);
        }
    }

    private static void WriteInfo(PrometheusTextWriter w, RepeatedField<NodeSnapshot.Types.Standby> standbys, string[] names)
    {
        w.BeginFamily("fleet_pg_replication_standby_info", PrometheusMetricType.Gauge, "A standby's address, state and sync_state; value 1.");
        for (var i = 0; i < standbys.Count; i++)
        {
            var standby = standbys[i];
            w.BeginSample();
            w.Label(Label, names[i]);
            w.Label("client_addr", standby.ClientAddr);
            w.Label("state", MetricLabels.Bounded(standby.State, MetricLabels.StandbyStates));
            w.Label("sync_state", MetricLabels.Bounded(standby.SyncState, MetricLabels.SyncStates));
            w.EndSample(1);
        }
    }

    private static void WriteOptional(
        PrometheusTextWriter w,
        RepeatedField<NodeSnapshot.Types.Standby> standbys,
        string[] names,
        string name,
        string help,
        Func<NodeSnapshot.Types.Standby, double?> value)
    {
        w.BeginFamily(name, PrometheusMetricType.Gauge, help);
        for (var i = 0; i < standbys.Count; i++)
        {
            if (value(standbys[i]) is { } v)
            {
                w.Sample(Label, names[i], v);
            }
        }
    }

    private static double? Lsn(ulong lsn) => lsn == 0 ? null : lsn;

    /// <summary>The label of each row: its application_name, with "#n" appended to the n-th repeat of a name.</summary>
    private static void UniqueNames(RepeatedField<NodeSnapshot.Types.Standby> standbys, string[] names)
    {
        for (var i = 0; i < standbys.Count; i++)
        {
            var name = standbys[i].ApplicationName;
            var seen = 0;
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(standbys[j].ApplicationName, name, StringComparison.Ordinal))
                {
                    seen++;
                }
            }

            names[i] = seen == 0 ? name : string.Create(CultureInfo.InvariantCulture, $"{name}#{seen + 1}");
        }
    }
}
