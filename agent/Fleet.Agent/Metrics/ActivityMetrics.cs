using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;

namespace Fleet.Agent.Metrics;

/// <summary>fleet_pg_*: connections and lock waits, checkpoints, the background writer, and wraparound risk.</summary>
internal static class ActivityMetrics
{
    public static void Write(PrometheusTextWriter w, NodeSnapshot snapshot)
    {
        if (snapshot.Connections is { } connections)
        {
            WriteConnections(w, connections);
        }

        if (snapshot.Checkpoints is { } checkpoints)
        {
            w.WriteCounter("fleet_pg_checkpoints_timed_total", "Scheduled checkpoints.", checkpoints.Timed);
            w.WriteCounter("fleet_pg_checkpoints_requested_total", "Requested checkpoints.", checkpoints.Requested);
            if (checkpoints.HasDone)
            {
                w.WriteCounter("fleet_pg_checkpoints_done_total", "Checkpoints performed (PostgreSQL 18+; absent before).", checkpoints.Done);
            }

            w.WriteCounter("fleet_pg_checkpoint_write_seconds_total", "Time spent writing checkpoint files, in seconds.", checkpoints.WriteTimeMs / 1000);
            w.WriteCounter("fleet_pg_checkpoint_sync_seconds_total", "Time spent syncing checkpoint files, in seconds.", checkpoints.SyncTimeMs / 1000);
            w.WriteCounter("fleet_pg_checkpoint_buffers_written_total", "Buffers written by checkpoints.", checkpoints.BuffersWritten);
            if (checkpoints.StatsReset is { } reset)
            {
                w.WriteGauge("fleet_pg_checkpoint_stats_reset_timestamp_seconds", "When the checkpoint statistics were last reset, in Unix seconds.", MetricLabels.UnixSeconds(reset));
            }
        }

        if (snapshot.Bgwriter is { } bgwriter)
        {
            w.WriteCounter("fleet_pg_bgwriter_buffers_clean_total", "Buffers written by the background writer.", bgwriter.BuffersClean);
            w.WriteCounter("fleet_pg_bgwriter_maxwritten_clean_total", "Background writer rounds stopped for writing too many buffers.", bgwriter.MaxwrittenClean);
            w.WriteCounter("fleet_pg_bgwriter_buffers_alloc_total", "Buffers allocated.", bgwriter.BuffersAlloc);
            if (bgwriter.HasBuffersBackend)
            {
                w.WriteCounter("fleet_pg_bgwriter_buffers_backend_total", "Buffers written directly by backends (PostgreSQL 13-16; absent from 17).", bgwriter.BuffersBackend);
            }

            if (bgwriter.HasBuffersBackendFsync)
            {
                w.WriteCounter("fleet_pg_bgwriter_buffers_backend_fsync_total", "Times a backend had to fsync itself (PostgreSQL 13-16; absent from 17).", bgwriter.BuffersBackendFsync);
            }

            if (bgwriter.StatsReset is { } reset)
            {
                w.WriteGauge("fleet_pg_bgwriter_stats_reset_timestamp_seconds", "When the background writer statistics were last reset, in Unix seconds.", MetricLabels.UnixSeconds(reset));
            }
        }

        if (snapshot.Wraparound is { } wraparound)
        {
            w.BeginFamily("fleet_pg_wraparound_frozenxid_age", PrometheusMetricType.Gauge, "Largest age(datfrozenxid), in transactions; datname is the database with that age.");
            w.Sample("datname", wraparound.Database, wraparound.MaxDatfrozenxidAge);
            w.WriteGauge("fleet_pg_wraparound_ratio", "Largest age(datfrozenxid) as a fraction of 2^31 (1 = wraparound).", wraparound.PercentTowardsWraparound / 100);
        }
    }

    private static void WriteConnections(PrometheusTextWriter w, NodeSnapshot.Types.Connections c)
    {
        // The four states PostgreSQL reports most, plus "other" (fastpath, disabled, no state), so that
        // sum(fleet_pg_connections) is the total of client connections.
        var known = (long)c.Active + c.Idle + c.IdleInTransaction + c.IdleInTransactionAborted;
        w.BeginFamily("fleet_pg_connections", PrometheusMetricType.Gauge, "Client connections by state (pg_stat_activity); the states sum to all client connections.");
        w.Sample("state", "active", c.Active);
        w.Sample("state", "idle", c.Idle);
        w.Sample("state", "idle_in_transaction", c.IdleInTransaction);
        w.Sample("state", "idle_in_transaction_aborted", c.IdleInTransactionAborted);
        w.Sample("state", MetricLabels.Other, (ulong)Math.Max(0, c.Total - known));
        if (c.MaxConnections != 0)
        {
            w.WriteGauge("fleet_pg_max_connections", "The max_connections setting.", c.MaxConnections);
        }

        w.WriteGauge("fleet_pg_lock_waiting_backends", "Backends waiting for a lock (wait_event_type 'Lock').", c.Waiting);
        w.WriteGauge("fleet_pg_locks_not_granted", "Lock requests not granted (pg_locks.granted = false).", c.WaitingLocks);
        if (c.HasLongestTransactionSeconds)
        {
            w.WriteGauge("fleet_pg_longest_transaction_seconds", "Age of the oldest open transaction, in seconds; absent when none is open.", c.LongestTransactionSeconds);
        }

        if (c.HasLongestIdleInTransactionSeconds)
        {
            w.WriteGauge("fleet_pg_longest_idle_in_transaction_seconds", "Longest current idle-in-transaction period, in seconds; absent when no session is.", c.LongestIdleInTransactionSeconds);
        }
    }
}
