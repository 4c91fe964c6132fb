namespace Fleet.Bench.Agent.Reporting;

internal enum CoverageStatus
{
    /// <summary>Fleet exports the same figure (possibly under another name or unit).</summary>
    Covered,

    /// <summary>Fleet exports a coarser form (server-wide instead of per database, a total instead of per type, a subset).</summary>
    Partial,

    /// <summary>Fleet does not collect it.</summary>
    Missing,
}

/// <summary>One postgres_exporter family and its Fleet counterpart.</summary>
internal sealed record CoverageRow(string ExporterFamily, CoverageStatus Status, string Fleet, string Note, bool SeenInScrape, bool FleetSeen);

/// <summary>The comparison of metric coverage, built from the families both actually exposed in this run.</summary>
internal sealed record CoverageReport(
    IReadOnlyList<CoverageRow> Rows,
    int SettingsFamilies,
    int ExporterSelfFamilies,
    IReadOnlyList<string> Unmapped,
    IReadOnlyList<string> FleetOnly)
{
    public int Covered => Rows.Count(r => r.Status == CoverageStatus.Covered);

    public int Partial => Rows.Count(r => r.Status == CoverageStatus.Partial);

    public int Missing => Rows.Count(r => r.Status == CoverageStatus.Missing);

    /// <summary>True only when every PostgreSQL family of the exporter's defaults has a full Fleet counterpart.</summary>
    public bool AtLeastTheSame => Missing == 0 && Partial == 0 && Unmapped.Count == 0 && SettingsFamilies == 0;
}

/// <summary>
/// Maps postgres_exporter's default families (0.11: the built-in maps for pg_stat_database,
/// pg_stat_database_conflicts, pg_locks, pg_stat_activity, pg_stat_replication, pg_replication_slots,
/// pg_stat_archiver; the database and bgwriter collectors; pg_settings) to Fleet's. Families only emitted
/// when rows exist (pg_stat_replication needs a standby) are listed from the exporter's map and marked as
/// not seen. A family the map does not know is reported as unmapped, so an exporter upgrade cannot slip by.
/// </summary>
internal static class Coverage
{
    private static readonly (string Exporter, CoverageStatus Status, string Fleet, string Note)[] Map =
    [
        ("pg_up", CoverageStatus.Covered, "fleet_pg_up", "plus fleet_pg_state (up/down/starting/stopping/unreachable)"),
        ("pg_static", CoverageStatus.Covered, "fleet_agent_info", "pg_version label; also fleet_pg_server_version_num"),
        ("pg_database_size_bytes", CoverageStatus.Covered, "fleet_pg_database_size_bytes", "every SlowInterval (5 min), with fleet_pg_database_size_timestamp_seconds; templates excluded"),
        ("pg_locks_count", CoverageStatus.Covered, "fleet_pg_database_locks", "per database and mode (the 9 modes, 0 included); templates excluded; fleet_pg_locks_not_granted adds the server-wide waits"),
        ("pg_stat_activity_count", CoverageStatus.Covered, "fleet_pg_database_connections", "per database and state (6 states + other); client backends only, the exporter counts any backend with a state; server-wide: fleet_pg_connections"),
        ("pg_stat_activity_max_tx_duration", CoverageStatus.Covered, "fleet_pg_database_longest_transaction_seconds", "per database and state; absent instead of 0 where no transaction is open; server-wide: fleet_pg_longest_transaction_seconds"),
        ("pg_stat_archiver_archived_count", CoverageStatus.Covered, "fleet_pg_archiver_archived_total", string.Empty),
        ("pg_stat_archiver_failed_count", CoverageStatus.Covered, "fleet_pg_archiver_failed_total", string.Empty),
        ("pg_stat_archiver_last_archive_age", CoverageStatus.Covered, "fleet_pg_archiver_last_archived_timestamp_seconds", "age = time() - timestamp"),
        ("pg_stat_bgwriter_buffers_alloc_total", CoverageStatus.Covered, "fleet_pg_bgwriter_buffers_alloc_total", string.Empty),
        ("pg_stat_bgwriter_buffers_backend_fsync_total", CoverageStatus.Covered, "fleet_pg_bgwriter_buffers_backend_fsync_total", "PostgreSQL 13-16; absent on 17, which dropped the column (as in the exporter)"),
        ("pg_stat_bgwriter_buffers_backend_total", CoverageStatus.Covered, "fleet_pg_bgwriter_buffers_backend_total", "PostgreSQL 13-16; absent on 17, which dropped the column (pg_stat_io has it)"),
        ("pg_stat_bgwriter_buffers_checkpoint_total", CoverageStatus.Covered, "fleet_pg_checkpoint_buffers_written_total", string.Empty),
        ("pg_stat_bgwriter_buffers_clean_total", CoverageStatus.Covered, "fleet_pg_bgwriter_buffers_clean_total", string.Empty),
        ("pg_stat_bgwriter_checkpoint_sync_time_total", CoverageStatus.Covered, "fleet_pg_checkpoint_sync_seconds_total", "seconds instead of ms"),
        ("pg_stat_bgwriter_checkpoint_write_time_total", CoverageStatus.Covered, "fleet_pg_checkpoint_write_seconds_total", "seconds instead of ms"),
        ("pg_stat_bgwriter_checkpoints_req_total", CoverageStatus.Covered, "fleet_pg_checkpoints_requested_total", string.Empty),
        ("pg_stat_bgwriter_checkpoints_timed_total", CoverageStatus.Covered, "fleet_pg_checkpoints_timed_total", string.Empty),
        ("pg_stat_bgwriter_maxwritten_clean_total", CoverageStatus.Covered, "fleet_pg_bgwriter_maxwritten_clean_total", string.Empty),
        ("pg_stat_bgwriter_stats_reset_total", CoverageStatus.Covered, "fleet_pg_bgwriter_stats_reset_timestamp_seconds", "a Unix-seconds gauge (the exporter exposes the epoch as a counter); also fleet_pg_checkpoint_stats_reset_timestamp_seconds"),
        ("pg_stat_database_active_time", CoverageStatus.Covered, "fleet_pg_database_active_seconds_total", "seconds instead of ms; 14+"),
        ("pg_stat_database_blk_read_time", CoverageStatus.Covered, "fleet_pg_database_blk_read_seconds_total", "seconds instead of ms; 0 unless track_io_timing"),
        ("pg_stat_database_blk_write_time", CoverageStatus.Covered, "fleet_pg_database_blk_write_seconds_total", "seconds instead of ms; 0 unless track_io_timing"),
        ("pg_stat_database_blks_hit", CoverageStatus.Covered, "fleet_pg_database_blks_hit_total", "plus fleet_pg_database_buffer_hit_ratio"),
        ("pg_stat_database_blks_read", CoverageStatus.Covered, "fleet_pg_database_blks_read_total", string.Empty),
        ("pg_stat_database_checksum_failures", CoverageStatus.Covered, "fleet_pg_database_checksum_failures_total", "absent when data checksums are disabled (PostgreSQL reports NULL)"),
        ("pg_stat_database_checksum_last_failure", CoverageStatus.Covered, "fleet_pg_database_checksum_last_failure_timestamp_seconds", "absent until a failure happened, so usually not seen"),
        ("pg_stat_database_conflicts", CoverageStatus.Covered, "fleet_pg_database_conflicts_total", string.Empty),
        ("pg_stat_database_conflicts_confl_bufferpin", CoverageStatus.Covered, "fleet_pg_database_conflicts_bufferpin_total", string.Empty),
        ("pg_stat_database_conflicts_confl_deadlock", CoverageStatus.Covered, "fleet_pg_database_conflicts_deadlock_total", string.Empty),
        ("pg_stat_database_conflicts_confl_lock", CoverageStatus.Covered, "fleet_pg_database_conflicts_lock_total", string.Empty),
        ("pg_stat_database_conflicts_confl_snapshot", CoverageStatus.Covered, "fleet_pg_database_conflicts_snapshot_total", string.Empty),
        ("pg_stat_database_conflicts_confl_tablespace", CoverageStatus.Covered, "fleet_pg_database_conflicts_tablespace_total", "16+ also confl_active_logicalslot: fleet_pg_database_conflicts_active_logicalslot_total"),
        ("pg_stat_database_deadlocks", CoverageStatus.Covered, "fleet_pg_database_deadlocks_total", string.Empty),
        ("pg_stat_database_idle_in_transaction_time", CoverageStatus.Covered, "fleet_pg_database_idle_in_transaction_seconds_total", "seconds instead of ms; 14+"),
        ("pg_stat_database_numbackends", CoverageStatus.Covered, "fleet_pg_database_backends", "all backend types, as numbackends"),
        ("pg_stat_database_session_time", CoverageStatus.Covered, "fleet_pg_database_session_seconds_total", "seconds instead of ms; 14+"),
        ("pg_stat_database_sessions", CoverageStatus.Covered, "fleet_pg_database_sessions_total", "14+"),
        ("pg_stat_database_sessions_abandoned", CoverageStatus.Covered, "fleet_pg_database_sessions_abandoned_total", "14+"),
        ("pg_stat_database_sessions_fatal", CoverageStatus.Covered, "fleet_pg_database_sessions_fatal_total", "14+"),
        ("pg_stat_database_sessions_killed", CoverageStatus.Covered, "fleet_pg_database_sessions_killed_total", "14+"),
        ("pg_stat_database_stats_reset", CoverageStatus.Covered, "fleet_pg_database_stats_reset_timestamp_seconds", "Unix seconds; absent if never reset"),
        ("pg_stat_database_temp_bytes", CoverageStatus.Covered, "fleet_pg_database_temp_bytes_total", string.Empty),
        ("pg_stat_database_temp_files", CoverageStatus.Covered, "fleet_pg_database_temp_files_total", string.Empty),
        ("pg_stat_database_tup_deleted", CoverageStatus.Covered, "fleet_pg_database_tup_deleted_total", string.Empty),
        ("pg_stat_database_tup_fetched", CoverageStatus.Covered, "fleet_pg_database_tup_fetched_total", string.Empty),
        ("pg_stat_database_tup_inserted", CoverageStatus.Covered, "fleet_pg_database_tup_inserted_total", string.Empty),
        ("pg_stat_database_tup_returned", CoverageStatus.Covered, "fleet_pg_database_tup_returned_total", string.Empty),
        ("pg_stat_database_tup_updated", CoverageStatus.Covered, "fleet_pg_database_tup_updated_total", string.Empty),
        ("pg_stat_database_xact_commit", CoverageStatus.Covered, "fleet_pg_database_xact_commit_total", string.Empty),
        ("pg_stat_database_xact_rollback", CoverageStatus.Covered, "fleet_pg_database_xact_rollback_total", string.Empty),
        ("pg_replication_slots_active", CoverageStatus.Covered, "fleet_pg_replication_slot_active", string.Empty),
        ("pg_replication_slots_pg_wal_lsn_diff", CoverageStatus.Covered, "fleet_pg_replication_slot_retained_bytes", string.Empty),
        ("pg_stat_replication_pg_current_wal_lsn_bytes", CoverageStatus.Covered, "fleet_pg_wal_current_lsn_bytes", "exporter emits it per standby row only"),
        ("pg_stat_replication_pg_wal_lsn_diff", CoverageStatus.Covered, "fleet_pg_replication_lag_bytes", "plus write/flush/replay lag seconds"),
    ];

    /// <summary>The exporter's own families (scrape bookkeeping, Go runtime, process) and their Fleet analogues where they exist.</summary>
    private static readonly string[] ExporterSelfPrefixes = ["pg_exporter_", "pg_scrape_collector_", "postgres_exporter_", "go_", "process_", "promhttp_"];

    public static CoverageReport Build(IEnumerable<string> exporterFamilies, IEnumerable<string> fleetFamilies)
    {
        var exporter = exporterFamilies.ToHashSet(StringComparer.Ordinal);
        var fleet = fleetFamilies.ToHashSet(StringComparer.Ordinal);
        var rows = Map
            .Select(m => new CoverageRow(m.Exporter, m.Status, m.Fleet, m.Note, exporter.Contains(m.Exporter), m.Fleet == "-" || fleet.Contains(m.Fleet)))
            .ToList();
        var mapped = Map.Select(m => m.Exporter).ToHashSet(StringComparer.Ordinal);
        var settings = exporter.Count(f => f.StartsWith("pg_settings_", StringComparison.Ordinal));
        var self = exporter.Count(f => ExporterSelfPrefixes.Any(p => f.StartsWith(p, StringComparison.Ordinal)));
        var unmapped = exporter
            .Where(f => !mapped.Contains(f) && !f.StartsWith("pg_settings_", StringComparison.Ordinal) &&
                        !ExporterSelfPrefixes.Any(p => f.StartsWith(p, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)
            .ToList();
        var fleetMapped = Map.Select(m => m.Fleet).ToHashSet(StringComparer.Ordinal);
        var fleetOnly = fleet
            .Where(f => !fleetMapped.Contains(f) && f.StartsWith("fleet_pg_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        return new CoverageReport(rows, settings, self, unmapped, fleetOnly);
    }
}
