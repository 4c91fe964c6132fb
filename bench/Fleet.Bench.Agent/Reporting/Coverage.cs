using Fleet.Bench.Agent.Measurement;

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

/// <summary>
/// The comparison of metric coverage, built from the families both actually exposed in this run.
/// <see cref="SettingsFamilies"/> counts the exporter's pg_settings_* families that Fleet's fleet_pg_setting
/// does not cover (they are also rows, with status Missing); 0 when every one is covered.
/// </summary>
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
/// <para>
/// pg_settings: the exporter writes one family per numeric or boolean setting,
/// <c>pg_settings_&lt;name&gt;</c> with dots replaced by underscores and <c>_bytes</c> or <c>_seconds</c>
/// appended when PostgreSQL gives the setting a memory or time unit. Fleet writes them all as one family,
/// <c>fleet_pg_setting{name="&lt;name&gt;"}</c>, in the same base units. Every such exporter family gets a
/// row of its own, built from the exporter's scrape (the set depends on the server version and loaded
/// extensions). When Fleet's scrape is given with its samples (<see cref="Build(PromText, PromText)"/>)
/// and has the fleet_pg_setting family, the row's setting must be one of its <c>name</c> label values:
/// otherwise the row is Missing. When Fleet's scrape has the family but only family names were given,
/// the names cannot be checked and the rows are Partial (not claimed). When Fleet's scrape lacks the
/// family altogether, the rows stay Covered by the mapping with Fleet not seen, as every other row does.
/// </para>
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

    private const string ExporterSettingsPrefix = "pg_settings_";
    private const string FleetSettingFamily = "fleet_pg_setting";

    /// <summary>The coverage of two scrapes; Fleet's samples let every pg_settings row be checked against fleet_pg_setting's names.</summary>
    public static CoverageReport Build(PromText exporter, PromText fleet) =>
        Build(exporter.Families, fleet.Families, FleetSettingNames(fleet));

    /// <summary>
    /// The coverage of two sets of family names. <paramref name="fleetSettingNames"/>: the <c>name</c> label
    /// values of Fleet's fleet_pg_setting samples; null when unknown, which leaves the settings rows
    /// unchecked, hence Partial if Fleet has the family (prefer <see cref="Build(PromText, PromText)"/>).
    /// </summary>
    public static CoverageReport Build(IEnumerable<string> exporterFamilies, IEnumerable<string> fleetFamilies, IEnumerable<string>? fleetSettingNames = null)
    {
        var exporter = exporterFamilies.ToHashSet(StringComparer.Ordinal);
        var fleet = fleetFamilies.ToHashSet(StringComparer.Ordinal);
        var rows = Map
            .Select(m => new CoverageRow(m.Exporter, m.Status, m.Fleet, m.Note, exporter.Contains(m.Exporter), m.Fleet == "-" || fleet.Contains(m.Fleet)))
            .ToList();
        var settingRows = SettingRows(
            exporter.Where(f => f.StartsWith(ExporterSettingsPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal),
            fleet.Contains(FleetSettingFamily),
            fleetSettingNames);
        rows.AddRange(settingRows);
        var mapped = Map.Select(m => m.Exporter).ToHashSet(StringComparer.Ordinal);
        var uncoveredSettings = settingRows.Count(r => r.Status != CoverageStatus.Covered);
        var self = exporter.Count(f => ExporterSelfPrefixes.Any(p => f.StartsWith(p, StringComparison.Ordinal)));
        var unmapped = exporter
            .Where(f => !mapped.Contains(f) && !f.StartsWith(ExporterSettingsPrefix, StringComparison.Ordinal) &&
                        !ExporterSelfPrefixes.Any(p => f.StartsWith(p, StringComparison.Ordinal)))
            .Order(StringComparer.Ordinal)
            .ToList();
        var fleetMapped = Map.Select(m => m.Fleet).Append(FleetSettingFamily).ToHashSet(StringComparer.Ordinal);
        var fleetOnly = fleet
            .Where(f => !fleetMapped.Contains(f) && f.StartsWith("fleet_pg_", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        return new CoverageReport(rows, uncoveredSettings, self, unmapped, fleetOnly);
    }

    /// <summary>
    /// One row per exporter pg_settings_* family. <paramref name="fleetNames"/> (null: not known) are
    /// PostgreSQL setting names, compared with dots as underscores, as the exporter writes them.
    /// </summary>
    private static List<CoverageRow> SettingRows(IEnumerable<string> exporterFamilies, bool fleetFamilySeen, IEnumerable<string>? fleetNames)
    {
        Dictionary<string, string>? fleet = null;
        if (fleetFamilySeen && fleetNames is not null)
        {
            fleet = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in fleetNames)
            {
                fleet.TryAdd(name.Replace('.', '_'), name);
            }
        }

        var rows = new List<CoverageRow>();
        foreach (var family in exporterFamilies)
        {
            var rest = family[ExporterSettingsPrefix.Length..];
            var (setting, unit) =
                rest.EndsWith("_bytes", StringComparison.Ordinal) ? (rest[..^"_bytes".Length], "bytes") :
                rest.EndsWith("_seconds", StringComparison.Ordinal) ? (rest[..^"_seconds".Length], "seconds") :
                (rest, string.Empty);

            // The suffix is the exporter's unit unless a setting's own name ends that way (none does in PostgreSQL 13-17).
            string? found = null;
            if (fleet is not null && !fleet.TryGetValue(setting, out found) && unit.Length > 0 && fleet.TryGetValue(rest, out found))
            {
                (setting, unit) = (rest, string.Empty);
            }

            var label = found ?? setting;
            var note = (unit.Length > 0 ? $"in {unit}; " : string.Empty) + "read every SlowInterval (5 min), fleet_pg_settings_timestamp_seconds says when";
            var status = CoverageStatus.Covered;
            if (fleet is not null && found is null)
            {
                status = CoverageStatus.Missing;
                note = $"no fleet_pg_setting series with name \"{setting}\" in Fleet's scrape";
            }
            else if (fleetFamilySeen && fleet is null)
            {
                status = CoverageStatus.Partial;
                note = "not checked: Fleet's fleet_pg_setting names were not given (use Build(PromText, PromText))";
            }

            rows.Add(new CoverageRow(family, status, $"{FleetSettingFamily}{{name=\"{label}\"}}", note, SeenInScrape: true, FleetSeen: found is not null));
        }

        return rows;
    }

    /// <summary>The <c>name</c> label values of Fleet's fleet_pg_setting samples.</summary>
    private static List<string> FleetSettingNames(PromText fleet)
    {
        var names = new List<string>();
        foreach (var sample in fleet.Samples)
        {
            if (sample.Name == FleetSettingFamily && LabelValue(sample.Labels, "name") is { } name)
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>The unescaped value of label <paramref name="label"/> in the raw label text <c>a="x",b="y"</c>, or null.</summary>
    private static string? LabelValue(string labels, string label)
    {
        var i = 0;
        while (i < labels.Length)
        {
            var equals = labels.IndexOf('=', i);
            if (equals < 0 || equals + 1 >= labels.Length || labels[equals + 1] != '"')
            {
                return null;
            }

            var key = labels[i..equals].Trim();
            var value = new System.Text.StringBuilder();
            var j = equals + 2;
            for (; j < labels.Length && labels[j] != '"'; j++)
            {
                if (labels[j] == '\\' && j + 1 < labels.Length)
                {
                    j++;
                    value.Append(labels[j] == 'n' ? '\n' : labels[j]);
                }
                else
                {
                    value.Append(labels[j]);
                }
            }

            if (key == label)
            {
                return value.ToString();
            }

            i = j + 1;
            if (i < labels.Length && labels[i] == ',')
            {
                i++;
            }
        }

        return null;
    }
}
