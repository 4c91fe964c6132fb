namespace Fleet.Agent.Collection;

/// <summary>
/// The SQL of a collection cycle, version-aware for PostgreSQL 13–18 (each run on a real server by
/// PostgresVersionMatrixTests; 18 keeps the 17 views we read and adds num_done). Every statement is written so that it cannot fail on a healthy server of any
/// supported version or role: functions that are illegal in recovery sit behind CASE on
/// pg_is_in_recovery(), and LSNs are returned as numeric byte positions (lsn - '0/0'), so the slim
/// Npgsql data source needs no extra type plugins. One failing statement aborts the whole batch.
/// </summary>
internal static class CollectionQueries
{
    /// <summary>First version with pg_stat_checkpointer (and without checkpoint columns in pg_stat_bgwriter).</summary>
    public const int CheckpointerViewVersion = 170000;

    /// <summary>First version with pg_stat_checkpointer.num_done (checkpoints performed, skipped ones not counted).</summary>
    public const int CheckpointsDoneVersion = 180000;

    /// <summary>Upper bound on per-database rows, so a server with thousands of databases cannot blow up a snapshot.</summary>
    public const int MaxDatabases = 1000;

    /// <summary>This node's WAL position: the write position on a primary, the received/replayed position on a replica.</summary>
    private const string PositionCte = """
        WITH pos AS (
          SELECT CASE WHEN pg_is_in_recovery()
                      THEN greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())
                      ELSE pg_current_wal_lsn() END AS lsn)
        """;

    public const string Node = """
        SELECT pg_is_in_recovery(),
               s.system_identifier,
               c.timeline_id,
               r.min_recovery_end_timeline,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn() - '0/0'::pg_lsn END,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_insert_lsn() - '0/0'::pg_lsn END,
               CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_flush_lsn() - '0/0'::pg_lsn END,
               pg_last_wal_receive_lsn() - '0/0'::pg_lsn,
               pg_last_wal_replay_lsn() - '0/0'::pg_lsn,
               CASE WHEN pg_is_in_recovery()
                    THEN extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 END,
               CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() ELSE false END,
               current_setting('synchronous_standby_names'),
               current_setting('archive_mode'),
               current_setting('max_connections')::int,
               CASE WHEN pg_has_role('pg_read_all_settings', 'MEMBER') THEN current_setting('data_directory') END
        FROM pg_control_system() s, pg_control_checkpoint() c, pg_control_recovery() r
        """;

    public const string WalReceiver = """
        SELECT coalesce(status, ''), coalesce(sender_host, ''), coalesce(sender_port, 0), coalesce(slot_name, ''),
               coalesce(received_tli, 0), last_msg_send_time, last_msg_receipt_time
        FROM pg_stat_wal_receiver
        """;

    public const string Standbys = PositionCte + """

        SELECT coalesce(r.application_name, ''), coalesce(host(r.client_addr), ''), coalesce(r.state, ''),
               coalesce(r.sync_state, ''),
               r.sent_lsn - '0/0'::pg_lsn, r.write_lsn - '0/0'::pg_lsn, r.flush_lsn - '0/0'::pg_lsn,
               r.replay_lsn - '0/0'::pg_lsn,
               CASE WHEN r.replay_lsn IS NULL OR pos.lsn IS NULL THEN NULL ELSE greatest(pos.lsn - r.replay_lsn, 0) END,
               extract(epoch FROM r.write_lag)::float8, extract(epoch FROM r.flush_lag)::float8,
               extract(epoch FROM r.replay_lag)::float8, r.reply_time
        FROM pg_stat_replication r, pos
        ORDER BY r.application_name, r.pid
        """;

    public const string Archiver = """
        SELECT archived_count, coalesce(last_archived_wal, ''), last_archived_time,
               failed_count, coalesce(last_failed_wal, ''), last_failed_time
        FROM pg_stat_archiver
        """;

    public const string Slots = PositionCte + """

        SELECT s.slot_name::text, coalesce(s.slot_type, ''), s.active, s.restart_lsn - '0/0'::pg_lsn,
               CASE WHEN s.restart_lsn IS NULL OR pos.lsn IS NULL THEN NULL ELSE greatest(pos.lsn - s.restart_lsn, 0) END,
               coalesce(s.wal_status, '')
        FROM pg_replication_slots s, pos
        ORDER BY s.slot_name
        """;

    /// <summary>First version with the session columns of pg_stat_database (session_time ... sessions_killed).</summary>
    public const int SessionStatisticsVersion = 140000;

    /// <summary>First version with pg_stat_database_conflicts.confl_active_logicalslot.</summary>
    public const int LogicalSlotConflictsVersion = 160000;

    /// <summary>
    /// pg_stat_database with its recovery conflicts by cause, one row per database (templates excluded,
    /// at most <see cref="MaxDatabases"/>). Columns a version lacks are selected as typed NULLs, so the
    /// ordinals are the same on every version and the reader leaves those fields unset.
    /// </summary>
    public static string Databases(int serverVersionNum) => $"""
        SELECT d.datname::text, s.xact_commit, s.xact_rollback, s.blks_hit, s.blks_read, s.deadlocks,
               s.conflicts, s.temp_files, s.temp_bytes, s.stats_reset,
               s.numbackends, s.tup_returned, s.tup_fetched, s.tup_inserted, s.tup_updated, s.tup_deleted,
               s.blk_read_time, s.blk_write_time, s.checksum_failures, s.checksum_last_failure,
               c.confl_tablespace, c.confl_lock, c.confl_snapshot, c.confl_bufferpin, c.confl_deadlock,
               {(serverVersionNum >= LogicalSlotConflictsVersion ? LogicalSlotConflictColumn : NoLogicalSlotConflictColumn)},
               {(serverVersionNum >= SessionStatisticsVersion ? SessionColumns : NoSessionColumns)}
        FROM pg_database d
        JOIN pg_stat_database s ON s.datid = d.oid
        JOIN pg_stat_database_conflicts c ON c.datid = d.oid
        WHERE NOT d.datistemplate
        ORDER BY d.datname
        LIMIT {MaxDatabases}
        """;

    private const string LogicalSlotConflictColumn = "c.confl_active_logicalslot";
    private const string NoLogicalSlotConflictColumn = "NULL::bigint";

    private const string SessionColumns =
        "s.session_time, s.active_time, s.idle_in_transaction_time, s.sessions, s.sessions_abandoned, s.sessions_fatal, s.sessions_killed";

    private const string NoSessionColumns =
        "NULL::float8, NULL::float8, NULL::float8, NULL::bigint, NULL::bigint, NULL::bigint, NULL::bigint";

    /// <summary>Templates included: template0's datfrozenxid ages too, and any database can force a wraparound shutdown.</summary>
    public const string Wraparound = """
        SELECT datname::text, age(datfrozenxid)::bigint
        FROM pg_database
        ORDER BY age(datfrozenxid) DESC, datname
        LIMIT 1
        """;

    /// <summary>
    /// Client backends (the agent's own session included: it occupies a slot too) grouped by database and
    /// state: one read of pg_stat_activity yields both the server-wide connection figures (summed by the
    /// reader) and the per-database ones. At most (databases with client backends) × (states) rows.
    /// Transaction ages leave out the agent's own session, whose batch is always in flight.
    /// </summary>
    public const string Connections = """
        SELECT d.datname::text, a.state, count(*)::int,
               count(*) FILTER (WHERE a.wait_event_type = 'Lock')::int,
               extract(epoch FROM max(clock_timestamp() - a.xact_start) FILTER (WHERE a.pid <> pg_backend_pid()))::float8,
               extract(epoch FROM max(clock_timestamp() - a.state_change))::float8
        FROM pg_stat_activity a
        LEFT JOIN pg_database d ON d.oid = a.datid
        WHERE a.backend_type = 'client backend'
        GROUP BY a.datid, d.datname, a.state
        ORDER BY d.datname, a.state
        """;

    /// <summary>
    /// pg_locks grouped by database and mode, read once per cycle: the reader sums the ungranted requests
    /// of all rows for the server-wide count and attributes rows with a database to it. Locks without a
    /// database (transaction IDs, virtual transactions) or on shared catalogs (database 0) have a NULL
    /// name. At most (databases with locks + 1) × (9 lock modes) rows.
    /// </summary>
    public const string Locks = """
        SELECT d.datname::text, l.mode, l.locks, l.waiting
        FROM (SELECT database, mode, count(*)::int AS locks, count(*) FILTER (WHERE NOT granted)::int AS waiting
              FROM pg_locks
              GROUP BY database, mode) l
        LEFT JOIN pg_database d ON d.oid = l.database
        ORDER BY d.datname, l.mode
        """;

    /// <summary>
    /// PostgreSQL 17 split checkpoint statistics out of pg_stat_bgwriter into pg_stat_checkpointer and dropped
    /// buffers_backend and buffers_backend_fsync (NULL there). Columns 10 and 11 are the bgwriter's and the
    /// checkpoint statistics' stats_reset (the same column before 17); column 12 is num_done (18+, else NULL).
    /// </summary>
    public static string Checkpoints(int serverVersionNum) => serverVersionNum >= CheckpointerViewVersion
        ? $"""
          SELECT c.num_timed, c.num_requested, c.write_time, c.sync_time, c.buffers_written,
                 b.buffers_clean, b.maxwritten_clean, b.buffers_alloc,
                 NULL::bigint, NULL::bigint, b.stats_reset, c.stats_reset,
                 {(serverVersionNum >= CheckpointsDoneVersion ? "c.num_done" : "NULL::bigint")}
          FROM pg_stat_checkpointer c, pg_stat_bgwriter b
          """
        : """
          SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, checkpoint_sync_time, buffers_checkpoint,
                 buffers_clean, maxwritten_clean, buffers_alloc,
                 buffers_backend, buffers_backend_fsync, stats_reset, stats_reset, NULL::bigint
          FROM pg_stat_bgwriter
          """;

    /// <summary>Every command of the fast batch, in the order <see cref="FastResultReader"/> reads them.</summary>
    public static IReadOnlyList<string> FastBatch(int serverVersionNum)
    {
        // The server version only changes with the session, so the batch text is built once per version.
        if (_lastFastBatch is { } cached && cached.Version == serverVersionNum)
        {
            return cached.Commands;
        }

        string[] commands =
            [Node, WalReceiver, Standbys, Archiver, Slots, Databases(serverVersionNum), Wraparound, Connections, Locks, Checkpoints(serverVersionNum)];
        _lastFastBatch = new FastBatchText(serverVersionNum, commands);
        return commands;
    }

    private static FastBatchText? _lastFastBatch;

    private sealed record FastBatchText(int Version, string[] Commands);
}
