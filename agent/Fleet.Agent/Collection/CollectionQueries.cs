namespace Fleet.Agent.Collection;

/// <summary>
/// The SQL of a collection cycle, version-aware for PostgreSQL 13–17 (and 18, which keeps the 17
/// views we read). Every statement is written so that it cannot fail on a healthy server of any
/// supported version or role: functions that are illegal in recovery sit behind CASE on
/// pg_is_in_recovery(), and LSNs are returned as numeric byte positions (lsn - '0/0'), so the slim
/// Npgsql data source needs no extra type plugins. One failing statement aborts the whole batch.
/// </summary>
internal static class CollectionQueries
{
    /// <summary>First version with pg_stat_checkpointer (and without checkpoint columns in pg_stat_bgwriter).</summary>
    public const int CheckpointerViewVersion = 170000;

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
               extract(epoch FROM r.replay_lag)::float8
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

    public static readonly string Databases = $"""
        SELECT d.datname::text, s.xact_commit, s.xact_rollback, s.blks_hit, s.blks_read, s.deadlocks,
               s.conflicts, s.temp_files, s.temp_bytes, s.stats_reset
        FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
        WHERE NOT d.datistemplate
        ORDER BY d.datname
        LIMIT {MaxDatabases}
        """;

    /// <summary>Templates included: template0's datfrozenxid ages too, and any database can force a wraparound shutdown.</summary>
    public const string Wraparound = """
        SELECT datname::text, age(datfrozenxid)::bigint
        FROM pg_database
        ORDER BY age(datfrozenxid) DESC, datname
        LIMIT 1
        """;

    /// <summary>Client backends (the agent's own session included: it occupies a slot too) and ungranted locks.</summary>
    public const string Connections = """
        SELECT count(*)::int,
               count(*) FILTER (WHERE state = 'active')::int,
               count(*) FILTER (WHERE state = 'idle')::int,
               count(*) FILTER (WHERE state = 'idle in transaction')::int,
               count(*) FILTER (WHERE state = 'idle in transaction (aborted)')::int,
               count(*) FILTER (WHERE wait_event_type = 'Lock')::int,
               (SELECT count(*) FROM pg_locks WHERE NOT granted)::int,
               extract(epoch FROM max(clock_timestamp() - xact_start) FILTER (WHERE pid <> pg_backend_pid()))::float8,
               extract(epoch FROM max(clock_timestamp() - state_change)
                   FILTER (WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')))::float8
        FROM pg_stat_activity
        WHERE backend_type = 'client backend'
        """;

    /// <summary>PostgreSQL 17 split checkpoint statistics out of pg_stat_bgwriter into pg_stat_checkpointer.</summary>
    public static string Checkpoints(int serverVersionNum) => serverVersionNum >= CheckpointerViewVersion
        ? """
          SELECT c.num_timed, c.num_requested, c.write_time, c.sync_time, c.buffers_written,
                 b.buffers_clean, b.maxwritten_clean, b.buffers_alloc
          FROM pg_stat_checkpointer c, pg_stat_bgwriter b
          """
        : """
          SELECT checkpoints_timed, checkpoints_req, checkpoint_write_time, checkpoint_sync_time, buffers_checkpoint,
                 buffers_clean, maxwritten_clean, buffers_alloc
          FROM pg_stat_bgwriter
          """;

    /// <summary>Every command of the fast batch, in the order <see cref="FastResultReader"/> reads them.</summary>
    public static IReadOnlyList<string> FastBatch(int serverVersionNum) =>
        [Node, WalReceiver, Standbys, Archiver, Slots, Databases, Wraparound, Connections, Checkpoints(serverVersionNum)];
}
