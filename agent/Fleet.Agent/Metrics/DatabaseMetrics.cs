using Fleet.Hosting.Prometheus;
using Fleet.Protos.V1;
using Google.Protobuf.Collections;

namespace Fleet.Agent.Metrics;

/// <summary>
/// fleet_pg_database_*: one set of series per database of pg_stat_database in the snapshot (label
/// <c>datname</c>; the collector excludes templates), plus its client connections by state and its locks
/// by mode (a second label from a fixed set). The agent's interval rates (*_per_second, *_per_hour,
/// interval_hit_ratio) are not exported: rate() over the counters is exact over any window.
/// </summary>
internal static class DatabaseMetrics
{
    private const string Label = "datname";

    /// <summary>pg_stat_activity states and their label values (as fleet_pg_connections spells them); any other state is "other".</summary>
    internal static readonly (string State, string Label)[] States =
    [
        ("active", "active"),
        ("idle", "idle"),
        ("idle in transaction", "idle_in_transaction"),
        ("idle in transaction (aborted)", "idle_in_transaction_aborted"),
        ("fastpath function call", "fastpath_function_call"),
        ("disabled", "disabled"),
    ];

    /// <summary>The heavyweight lock modes of pg_locks.mode (PostgreSQL 13–17), passed through as label values.</summary>
    internal static readonly string[] LockModes =
    [
        "AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
        "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock", "SIReadLock",
    ];

    private static readonly Spec[] Specs =
    [
        new("fleet_pg_database_backends", PrometheusMetricType.Gauge, "Backends connected to the database (numbackends; all backend types).", static d => d.Backends),
        new("fleet_pg_database_xact_commit_total", PrometheusMetricType.Counter, "Transactions committed (xact_commit).", static d => d.Commits),
        new("fleet_pg_database_xact_rollback_total", PrometheusMetricType.Counter, "Transactions rolled back (xact_rollback).", static d => d.Rollbacks),
        new("fleet_pg_database_blks_hit_total", PrometheusMetricType.Counter, "Blocks found in shared buffers.", static d => d.BlksHit),
        new("fleet_pg_database_blks_read_total", PrometheusMetricType.Counter, "Blocks read from the OS (disk or page cache).", static d => d.BlksRead),
        new("fleet_pg_database_blk_read_seconds_total", PrometheusMetricType.Counter, "Time spent reading data file blocks, in seconds (blk_read_time; 0 unless track_io_timing is on).", static d => d.BlkReadTimeMs / 1000),
        new("fleet_pg_database_blk_write_seconds_total", PrometheusMetricType.Counter, "Time spent writing data file blocks, in seconds (blk_write_time; 0 unless track_io_timing is on).", static d => d.BlkWriteTimeMs / 1000),
        new("fleet_pg_database_tup_returned_total", PrometheusMetricType.Counter, "Live rows read by sequential scans plus index entries returned by index scans (tup_returned).", static d => d.TupReturned),
        new("fleet_pg_database_tup_fetched_total", PrometheusMetricType.Counter, "Live rows fetched by index scans (tup_fetched).", static d => d.TupFetched),
        new("fleet_pg_database_tup_inserted_total", PrometheusMetricType.Counter, "Rows inserted (tup_inserted).", static d => d.TupInserted),
        new("fleet_pg_database_tup_updated_total", PrometheusMetricType.Counter, "Rows updated (tup_updated).", static d => d.TupUpdated),
        new("fleet_pg_database_tup_deleted_total", PrometheusMetricType.Counter, "Rows deleted (tup_deleted).", static d => d.TupDeleted),
        new("fleet_pg_database_deadlocks_total", PrometheusMetricType.Counter, "Deadlocks detected.", static d => d.Deadlocks),
        new("fleet_pg_database_conflicts_total", PrometheusMetricType.Counter, "Queries cancelled by recovery conflicts (replicas).", static d => d.Conflicts),
        new("fleet_pg_database_conflicts_tablespace_total", PrometheusMetricType.Counter, "Queries cancelled by recovery conflicts with dropped tablespaces (confl_tablespace).", static d => d.ConflictsTablespace),
        new("fleet_pg_database_conflicts_lock_total", PrometheusMetricType.Counter, "Queries cancelled by recovery conflicts: lock timeouts (confl_lock).", static d => d.ConflictsLock),
        new("fleet_pg_database_conflicts_snapshot_total", PrometheusMetricType.Counter, "Queries cancelled by recovery conflicts: old snapshots (confl_snapshot).", static d => d.ConflictsSnapshot),
        new("fleet_pg_database_conflicts_bufferpin_total", PrometheusMetricType.Counter, "Queries cancelled by recovery conflicts: pinned buffers (confl_bufferpin).", static d => d.ConflictsBufferpin),
        new("fleet_pg_database_conflicts_deadlock_total", PrometheusMetricType.Counter, "Queries cancelled by recovery conflicts: deadlocks (confl_deadlock).", static d => d.ConflictsDeadlock),
        new("fleet_pg_database_conflicts_active_logicalslot_total", PrometheusMetricType.Counter, "Uses of logical slots cancelled by recovery conflicts (confl_active_logicalslot; PostgreSQL 16+).", static d => d.HasConflictsActiveLogicalslot ? d.ConflictsActiveLogicalslot : null),
        new("fleet_pg_database_temp_files_total", PrometheusMetricType.Counter, "Temporary files created.", static d => d.TempFiles),
        new("fleet_pg_database_temp_bytes_total", PrometheusMetricType.Counter, "Bytes written to temporary files.", static d => d.TempBytes),
        new("fleet_pg_database_checksum_failures_total", PrometheusMetricType.Counter, "Data page checksum failures; absent when data checksums are disabled.", static d => d.HasChecksumFailures ? d.ChecksumFailures : null),
        new("fleet_pg_database_checksum_last_failure_timestamp_seconds", PrometheusMetricType.Gauge, "When the last checksum failure was detected, in Unix seconds; absent if never.", static d => d.ChecksumLastFailure is { } t ? MetricLabels.UnixSeconds(t) : null),
        new("fleet_pg_database_session_seconds_total", PrometheusMetricType.Counter, "Time spent by sessions of the database, in seconds (session_time; PostgreSQL 14+).", static d => d.HasSessionTimeMs ? d.SessionTimeMs / 1000 : null),
        new("fleet_pg_database_active_seconds_total", PrometheusMetricType.Counter, "Time spent executing statements, in seconds (active_time; PostgreSQL 14+).", static d => d.HasActiveTimeMs ? d.ActiveTimeMs / 1000 : null),
        new("fleet_pg_database_idle_in_transaction_seconds_total", PrometheusMetricType.Counter, "Time spent idle in a transaction, in seconds (idle_in_transaction_time; PostgreSQL 14+).", static d => d.HasIdleInTransactionTimeMs ? d.IdleInTransactionTimeMs / 1000 : null),
        new("fleet_pg_database_sessions_total", PrometheusMetricType.Counter, "Sessions established (PostgreSQL 14+).", static d => d.HasSessions ? d.Sessions : null),
        new("fleet_pg_database_sessions_abandoned_total", PrometheusMetricType.Counter, "Sessions ended because the client went away (PostgreSQL 14+).", static d => d.HasSessionsAbandoned ? d.SessionsAbandoned : null),
        new("fleet_pg_database_sessions_fatal_total", PrometheusMetricType.Counter, "Sessions ended by a fatal error (PostgreSQL 14+).", static d => d.HasSessionsFatal ? d.SessionsFatal : null),
        new("fleet_pg_database_sessions_killed_total", PrometheusMetricType.Counter, "Sessions ended by operator intervention (PostgreSQL 14+).", static d => d.HasSessionsKilled ? d.SessionsKilled : null),
        new("fleet_pg_database_stats_reset_timestamp_seconds", PrometheusMetricType.Gauge, "When the database's statistics were last reset, in Unix seconds; absent if never.", static d => d.StatsReset is { } t ? MetricLabels.UnixSeconds(t) : null),
        new("fleet_pg_database_buffer_hit_ratio", PrometheusMetricType.Gauge, "blks_hit / (blks_hit + blks_read) since the statistics reset, 0..1.", static d => d.HasHitRatio ? d.HitRatio : null),
        new("fleet_pg_database_size_bytes", PrometheusMetricType.Gauge, "pg_database_size(), in bytes; refreshed on the slow interval.", static d => d.HasSizeBytes ? d.SizeBytes : null),
        new("fleet_pg_database_size_timestamp_seconds", PrometheusMetricType.Gauge, "When the database size was measured, in Unix seconds.", static d => d.SizeAsOf is { } t ? MetricLabels.UnixSeconds(t) : null),
    ];

    public static void Write(PrometheusTextWriter w, RepeatedField<NodeSnapshot.Types.Database> databases)
    {
        if (databases.Count == 0)
        {
            return;
        }

        foreach (var spec in Specs)
        {
            w.BeginFamily(spec.Name, spec.Type, spec.Help);
            for (var i = 0; i < databases.Count; i++)
            {
                if (spec.Value(databases[i]) is { } value)
                {
                    w.Sample(Label, databases[i].Name, value);
                }
            }
        }

        WriteConnections(w, databases);
        WriteLongestTransactions(w, databases);
        WriteLocks(w, databases);
    }

    /// <summary>Every state of <see cref="States"/> plus "other", always (0 included), so the states sum to the database's client connections.</summary>
    private static void WriteConnections(PrometheusTextWriter w, RepeatedField<NodeSnapshot.Types.Database> databases)
    {
        w.BeginFamily("fleet_pg_database_connections", PrometheusMetricType.Gauge, "Client connections to the database by state (pg_stat_activity); the states sum to the database's client connections.");
        for (var i = 0; i < databases.Count; i++)
        {
            var groups = databases[i].ConnectionsByState;
            for (var state = 0; state <= States.Length; state++)
            {
                ulong count = 0;
                for (var g = 0; g < groups.Count; g++)
                {
                    if (StateIndex(groups[g].State) == state)
                    {
                        count += groups[g].Connections;
                    }
                }

                Sample(w, databases[i].Name, "state", StateLabel(state), count);
            }
        }
    }

    /// <summary>Only (database, state) pairs with an open transaction: absent, not 0, when there is none.</summary>
    private static void WriteLongestTransactions(PrometheusTextWriter w, RepeatedField<NodeSnapshot.Types.Database> databases)
    {
        w.BeginFamily("fleet_pg_database_longest_transaction_seconds", PrometheusMetricType.Gauge, "Age of the oldest open transaction of the database's client connections in a state, in seconds; absent when none is open.");
        for (var i = 0; i < databases.Count; i++)
        {
            var groups = databases[i].ConnectionsByState;
            for (var state = 0; state <= States.Length; state++)
            {
                double? longest = null;
                for (var g = 0; g < groups.Count; g++)
                {
                    if (groups[g].HasLongestTransactionSeconds && StateIndex(groups[g].State) == state &&
                        (longest is null || groups[g].LongestTransactionSeconds > longest))
                    {
                        longest = groups[g].LongestTransactionSeconds;
                    }
                }

                if (longest is { } seconds)
                {
                    w.BeginSample();
                    w.Label(Label, databases[i].Name);
                    w.Label("state", StateLabel(state));
                    w.EndSample(seconds);
                }
            }
        }
    }

    /// <summary>Every mode of <see cref="LockModes"/>, always (0 included); a mode PostgreSQL might add later is counted as "other" when present.</summary>
    private static void WriteLocks(PrometheusTextWriter w, RepeatedField<NodeSnapshot.Types.Database> databases)
    {
        w.BeginFamily("fleet_pg_database_locks", PrometheusMetricType.Gauge, "Locks held or awaited in the database, by mode (pg_locks).");
        for (var i = 0; i < databases.Count; i++)
        {
            var groups = databases[i].LocksByMode;
            for (var mode = 0; mode <= LockModes.Length; mode++)
            {
                ulong count = 0;
                for (var g = 0; g < groups.Count; g++)
                {
                    if (ModeIndex(groups[g].Mode) == mode)
                    {
                        count += groups[g].Locks;
                    }
                }

                if (mode < LockModes.Length || count > 0)
                {
                    Sample(w, databases[i].Name, "mode", mode < LockModes.Length ? LockModes[mode] : MetricLabels.Other, count);
                }
            }
        }
    }

    private static void Sample(PrometheusTextWriter w, string database, string labelName, string labelValue, ulong value)
    {
        w.BeginSample();
        w.Label(Label, database);
        w.Label(labelName, labelValue);
        w.EndSample(value);
    }

    /// <summary>Index into <see cref="States"/>; <c>States.Length</c> ("other") for any other state, NULL (empty) included.</summary>
    private static int StateIndex(string state)
    {
        for (var i = 0; i < States.Length; i++)
        {
            if (string.Equals(States[i].State, state, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return States.Length;
    }

    private static string StateLabel(int index) => index < States.Length ? States[index].Label : MetricLabels.Other;

    private static int ModeIndex(string mode)
    {
        for (var i = 0; i < LockModes.Length; i++)
        {
            if (string.Equals(LockModes[i], mode, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return LockModes.Length;
    }

    private sealed record Spec(string Name, PrometheusMetricType Type, string Help, Func<NodeSnapshot.Types.Database, double?> Value);
}
