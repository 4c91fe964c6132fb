using System.Buffers;
using System.Text;
using Fleet.Agent.Metrics;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Metrics;

public sealed class AgentMetricsWriterTests
{
    [Fact]
    public void Primary_renders_identity_server_and_wal_positions()
    {
        var e = Render(MetricsFixtures.Primary(), MetricsFixtures.Archive());

        e.AssertLine("fleet_agent_info{node=\"orders-db-1\",cluster=\"orders\",region=\"kr-central\",zone=\"kr-central-a\",role=\"primary\",version=\"0.3.0\",pg_version=\"17.2\",system_identifier=\"7301234567890123456\"} 1");
        e.AssertLine("fleet_agent_uptime_seconds 3600.25");
        e.AssertLine("fleet_agent_link_connected 1");
        e.AssertLine("fleet_agent_link_reconnects_total 3");
        e.AssertLine("fleet_agent_collection_cycles_total 3600");
        e.AssertLine("fleet_agent_collection_failures_total 2");
        e.AssertLine("fleet_agent_collection_last_duration_seconds 0.042");
        e.AssertLine("fleet_agent_resident_memory_bytes 48000000");
        e.AssertLine("fleet_agent_gc_heap_bytes 6500000");
        e.AssertLine("fleet_agent_gc_committed_bytes 9000000");
        e.AssertLine("fleet_agent_gc_collections_total{generation=\"0\"} 120");
        e.AssertLine("fleet_agent_gc_collections_total{generation=\"2\"} 3");
        e.AssertLine("fleet_agent_gc_induced_total{kind=\"gen0\"} 100");
        e.AssertLine("fleet_agent_gc_induced_total{kind=\"compact\"} 12");
        e.AssertLine("fleet_agent_snapshot_available 1");
        e.AssertLine("fleet_agent_snapshot_timestamp_seconds 1700000000.5");
        e.AssertLine("fleet_agent_snapshot_collection_duration_seconds 0.042");
        e.AssertLine("fleet_agent_snapshot_collection_errors 1");
        e.AssertLine("fleet_pg_up 1");
        e.AssertLine("fleet_pg_state{state=\"up\"} 1");
        e.AssertLine("fleet_pg_role{role=\"primary\"} 1");
        e.AssertLine("fleet_pg_server_version_num 170002");
        e.AssertLine("fleet_pg_timeline 3");
        e.AssertLine("fleet_pg_wal_current_lsn_bytes 12884910080");
        e.AssertLine("fleet_pg_wal_insert_lsn_bytes 12884910336");
        e.AssertLine("fleet_pg_wal_flush_lsn_bytes 12884909824");
        e.AssertLine("fleet_pg_synchronous_replication_enabled 1");
        e.AssertNoFamily("fleet_pg_wal_replay_lsn_bytes");
        e.AssertNoFamily("fleet_pg_replica_replay_paused");

        // Only the info metric carries identity: no other series repeats node or cluster.
        Assert.Single(e.Samples, s => s.Series.Contains("node=", StringComparison.Ordinal));
    }

    [Fact]
    public void Primary_renders_one_series_per_standby_and_slot()
    {
        var e = Render(MetricsFixtures.Primary());

        e.AssertLine("fleet_pg_replication_standbys 2");
        e.AssertLine("fleet_pg_replication_standby_info{standby=\"orders-db-2\",client_addr=\"10.0.0.2\",state=\"streaming\",sync_state=\"quorum\"} 1");
        e.AssertLine("fleet_pg_replication_standby_info{standby=\"orders-db-3\",client_addr=\"10.0.0.3\",state=\"catchup\",sync_state=\"async\"} 1");
        e.AssertLine("fleet_pg_replication_lag_bytes{standby=\"orders-db-2\"} 1024");
        e.AssertLine("fleet_pg_replication_lag_bytes{standby=\"orders-db-3\"} 16785408");
        e.AssertLine("fleet_pg_replication_write_lag_seconds{standby=\"orders-db-2\"} 0.001");
        e.AssertLine("fleet_pg_replication_flush_lag_seconds{standby=\"orders-db-2\"} 0.002");
        e.AssertLine("fleet_pg_replication_replay_lag_seconds{standby=\"orders-db-2\"} 0.0035");
        Assert.Equal(1, e.CountSamples("fleet_pg_replication_replay_lag_seconds")); // orders-db-3 is idle: NULL lag, no series
        e.AssertLine("fleet_pg_replication_sent_lsn_bytes{standby=\"orders-db-2\"} 12884910080");
        e.AssertLine("fleet_pg_replication_write_lsn_bytes{standby=\"orders-db-2\"} 12884909824");
        e.AssertLine("fleet_pg_replication_flush_lsn_bytes{standby=\"orders-db-2\"} 12884909568");
        e.AssertLine("fleet_pg_replication_replay_lsn_bytes{standby=\"orders-db-2\"} 12884909056");
        e.AssertLine("fleet_pg_replication_replay_lsn_bytes{standby=\"orders-db-3\"} 12868124672");

        e.AssertLine("fleet_pg_replication_slot_info{slot=\"orders_db_3\",slot_type=\"physical\",wal_status=\"extended\"} 1");
        e.AssertLine("fleet_pg_replication_slot_info{slot=\"cdc\",slot_type=\"logical\",wal_status=\"reserved\"} 1");
        e.AssertLine("fleet_pg_replication_slot_active{slot=\"orders_db_2\"} 1");
        e.AssertLine("fleet_pg_replication_slot_active{slot=\"orders_db_3\"} 0");
        e.AssertLine("fleet_pg_replication_slot_retained_bytes{slot=\"orders_db_3\"} 33562624");
        e.AssertLine("fleet_pg_replication_slot_restart_lsn_bytes{slot=\"orders_db_2\"} 12884908032");
    }

    [Fact]
    public void Primary_renders_databases_activity_tables_and_host()
    {
        var e = Render(MetricsFixtures.Primary());

        e.AssertLine("fleet_pg_database_xact_commit_total{datname=\"orders\"} 987654321");
        e.AssertLine("fleet_pg_database_xact_rollback_total{datname=\"orders\"} 12");
        e.AssertLine("fleet_pg_database_blks_hit_total{datname=\"postgres\"} 990000");
        e.AssertLine("fleet_pg_database_blks_read_total{datname=\"postgres\"} 10000");
        e.AssertLine("fleet_pg_database_buffer_hit_ratio{datname=\"orders\"} 0.99");
        e.AssertLine("fleet_pg_database_deadlocks_total{datname=\"orders\"} 1");
        e.AssertLine("fleet_pg_database_conflicts_total{datname=\"orders\"} 0");
        e.AssertLine("fleet_pg_database_temp_files_total{datname=\"orders\"} 5");
        e.AssertLine("fleet_pg_database_temp_bytes_total{datname=\"orders\"} 10485760");
        e.AssertLine("fleet_pg_database_size_bytes{datname=\"orders\"} 83886080");
        e.AssertLine("fleet_pg_database_size_timestamp_seconds{datname=\"orders\"} 1699999700");
        Assert.Equal(3, e.CountSamples("fleet_pg_database_xact_commit_total"));

        e.AssertLine("fleet_pg_connections{state=\"active\"} 5");
        e.AssertLine("fleet_pg_connections{state=\"idle\"} 40");
        e.AssertLine("fleet_pg_connections{state=\"idle_in_transaction\"} 3");
        e.AssertLine("fleet_pg_connections{state=\"idle_in_transaction_aborted\"} 1");
        e.AssertLine("fleet_pg_connections{state=\"other\"} 8");
        e.AssertLine("fleet_pg_max_connections 200");
        e.AssertLine("fleet_pg_lock_waiting_backends 2");
        e.AssertLine("fleet_pg_locks_not_granted 4");
        e.AssertLine("fleet_pg_longest_transaction_seconds 12.5");
        e.AssertLine("fleet_pg_longest_idle_in_transaction_seconds 3.25");
        e.AssertLine("fleet_pg_checkpoints_timed_total 100");
        e.AssertLine("fleet_pg_checkpoints_requested_total 7");
        e.AssertLine("fleet_pg_checkpoint_write_seconds_total 123.456");
        e.AssertLine("fleet_pg_checkpoint_sync_seconds_total 0.789");
        e.AssertLine("fleet_pg_checkpoint_buffers_written_total 55555");
        e.AssertLine("fleet_pg_bgwriter_buffers_clean_total 4321");
        e.AssertLine("fleet_pg_bgwriter_maxwritten_clean_total 9");
        e.AssertLine("fleet_pg_bgwriter_buffers_alloc_total 1000000");
        e.AssertLine("fleet_pg_wraparound_frozenxid_age{datname=\"orders\"} 200000000");
        e.AssertLine("fleet_pg_wraparound_ratio 0.25");

        e.AssertLine("fleet_pg_table_health_timestamp_seconds 1699999700");
        e.AssertLine("fleet_pg_table_live_tuples{datname=\"orders\",table=\"public.orders\"} 1000000");
        e.AssertLine("fleet_pg_table_dead_tuples{datname=\"orders\",table=\"public.orders\"} 250000");
        e.AssertLine("fleet_pg_table_dead_tuple_ratio{datname=\"orders\",table=\"public.orders\"} 0.2");
        e.AssertLine("fleet_pg_table_size_bytes{datname=\"orders\",table=\"public.orders\"} 536870912");
        e.AssertLine("fleet_pg_table_bloat_bytes{datname=\"orders\",table=\"public.orders\"} 134217728");
        e.AssertLine("fleet_pg_table_bloat_ratio{datname=\"orders\",table=\"public.orders\"} 0.25");
        e.AssertLine("fleet_pg_table_dead_tuples{datname=\"orders\",table=\"public.empty\"} 0");
        Assert.Equal(1, e.CountSamples("fleet_pg_table_dead_tuple_ratio")); // an empty table has no ratio

        e.AssertLine("fleet_host_cpu_ratio 0.375");
        e.AssertLine("fleet_host_memory_used_bytes 8589934592");
        e.AssertLine("fleet_host_memory_total_bytes 17179869184");
        e.AssertLine("fleet_host_disk_used_bytes 107374182400");
        e.AssertLine("fleet_host_disk_total_bytes 536870912000");
    }

    [Fact]
    public void Settings_render_as_one_family_by_name_in_base_units_with_their_age()
    {
        var e = Render(MetricsFixtures.Primary());

        Assert.Equal("gauge", e.Families["fleet_pg_setting"]);
        e.AssertLine("fleet_pg_settings_timestamp_seconds 1699999700.25");
        e.AssertLine("fleet_pg_setting{name=\"shared_buffers\"} 134217728");
        e.AssertLine("fleet_pg_setting{name=\"work_mem\"} 4194304");
        e.AssertLine("fleet_pg_setting{name=\"checkpoint_timeout\"} 300");
        e.AssertLine("fleet_pg_setting{name=\"bgwriter_delay\"} 0.2");
        e.AssertLine("fleet_pg_setting{name=\"fsync\"} 1");
        e.AssertLine("fleet_pg_setting{name=\"track_io_timing\"} 0");
        e.AssertLine("fleet_pg_setting{name=\"cpu_tuple_cost\"} 0.01");
        e.AssertLine("fleet_pg_setting{name=\"temp_file_limit\"} -1");
        e.AssertLine("fleet_pg_setting{name=\"pg_stat_statements.max\"} 5000");
        Assert.Equal(MetricsFixtures.Settings().Items.Count, e.CountSamples("fleet_pg_setting"));

        // The dedicated families stay as they were.
        e.AssertLine("fleet_pg_setting{name=\"max_connections\"} 200");
        e.AssertLine("fleet_pg_max_connections 200");
        e.AssertLine("fleet_pg_archiver_mode{mode=\"on\"} 1");
    }

    [Fact]
    public void Settings_not_read_yet_are_absent()
    {
        var snapshot = MetricsFixtures.Primary();
        snapshot.Settings = null;
        var e = Render(snapshot);
        e.AssertNoFamily("fleet_pg_setting");
        e.AssertNoFamily("fleet_pg_settings_timestamp_seconds");

        snapshot.Settings = new NodeSnapshot.Types.Settings { AsOf = MetricsFixtures.At(1_699_999_700) };
        e = Render(snapshot);
        e.AssertNoFamily("fleet_pg_setting");
        e.AssertLine("fleet_pg_settings_timestamp_seconds 1699999700");

        e = Render(MetricsFixtures.Down());
        e.AssertNoFamily("fleet_pg_setting");
        e.AssertNoFamily("fleet_pg_settings_timestamp_seconds");
    }

    [Fact]
    public void Primary_renders_per_database_rows_sessions_conflicts_and_io_times()
    {
        var e = Render(MetricsFixtures.Primary());

        e.AssertLine("fleet_pg_database_backends{datname=\"orders\"} 9");
        e.AssertLine("fleet_pg_database_tup_returned_total{datname=\"orders\"} 5000000");
        e.AssertLine("fleet_pg_database_tup_fetched_total{datname=\"orders\"} 2000000");
        e.AssertLine("fleet_pg_database_tup_inserted_total{datname=\"orders\"} 10000");
        e.AssertLine("fleet_pg_database_tup_updated_total{datname=\"orders\"} 4000");
        e.AssertLine("fleet_pg_database_tup_deleted_total{datname=\"orders\"} 1000");
        e.AssertLine("fleet_pg_database_blk_read_seconds_total{datname=\"orders\"} 1.5");
        e.AssertLine("fleet_pg_database_blk_write_seconds_total{datname=\"orders\"} 0.2505");
        e.AssertLine("fleet_pg_database_checksum_failures_total{datname=\"orders\"} 2");
        e.AssertLine("fleet_pg_database_checksum_failures_total{datname=\"postgres\"} 0");
        e.AssertLine("fleet_pg_database_checksum_last_failure_timestamp_seconds{datname=\"orders\"} 1699999000");
        Assert.Equal(1, e.CountSamples("fleet_pg_database_checksum_last_failure_timestamp_seconds")); // never failed: absent
        e.AssertLine("fleet_pg_database_stats_reset_timestamp_seconds{datname=\"orders\"} 1699000000");
        e.AssertLine("fleet_pg_database_session_seconds_total{datname=\"orders\"} 3600");
        e.AssertLine("fleet_pg_database_active_seconds_total{datname=\"orders\"} 600");
        e.AssertLine("fleet_pg_database_idle_in_transaction_seconds_total{datname=\"orders\"} 60");
        e.AssertLine("fleet_pg_database_sessions_total{datname=\"orders\"} 1200");
        e.AssertLine("fleet_pg_database_sessions_abandoned_total{datname=\"orders\"} 3");
        e.AssertLine("fleet_pg_database_sessions_fatal_total{datname=\"orders\"} 1");
        e.AssertLine("fleet_pg_database_sessions_killed_total{datname=\"orders\"} 2");
        foreach (var cause in new[] { "tablespace", "lock", "snapshot", "bufferpin", "deadlock", "active_logicalslot" })
        {
            e.AssertLine($"fleet_pg_database_conflicts_{cause}_total{{datname=\"orders\"}} 0");
        }

        e.AssertLine("fleet_pg_bgwriter_buffers_backend_total 2222");
        e.AssertLine("fleet_pg_bgwriter_buffers_backend_fsync_total 1");
        e.AssertLine("fleet_pg_bgwriter_stats_reset_timestamp_seconds 1699000200");
        e.AssertLine("fleet_pg_checkpoint_stats_reset_timestamp_seconds 1699000100");
        e.AssertLine("fleet_pg_checkpoints_done_total 90");
    }

    [Fact]
    public void Primary_renders_connections_by_state_and_locks_by_mode_per_database()
    {
        var e = Render(MetricsFixtures.Primary());

        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"active\"} 2");
        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"idle\"} 5");
        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"idle_in_transaction\"} 1");
        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"idle_in_transaction_aborted\"} 0");
        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"fastpath_function_call\"} 0");
        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"disabled\"} 0");
        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"other\"} 0");
        Assert.Equal(3 * 7, e.CountSamples("fleet_pg_database_connections"));
        e.AssertLine("fleet_pg_database_longest_transaction_seconds{datname=\"orders\",state=\"active\"} 1.5");
        e.AssertLine("fleet_pg_database_longest_transaction_seconds{datname=\"orders\",state=\"idle_in_transaction\"} 12.5");
        Assert.Equal(3 * 2, e.CountSamples("fleet_pg_database_longest_transaction_seconds")); // absent where no transaction is open

        e.AssertLine("fleet_pg_database_locks{datname=\"orders\",mode=\"AccessShareLock\"} 12");
        e.AssertLine("fleet_pg_database_locks{datname=\"orders\",mode=\"RowExclusiveLock\"} 3");
        e.AssertLine("fleet_pg_database_locks{datname=\"orders\",mode=\"ShareLock\"} 1");
        e.AssertLine("fleet_pg_database_locks{datname=\"orders\",mode=\"AccessExclusiveLock\"} 1");
        e.AssertLine("fleet_pg_database_locks{datname=\"orders\",mode=\"SIReadLock\"} 0");
        e.AssertLine("fleet_pg_database_locks{datname=\"orders\",mode=\"ShareUpdateExclusiveLock\"} 0");
        Assert.Equal(3 * 9, e.CountSamples("fleet_pg_database_locks"));
    }

    [Fact]
    public void Unknown_states_and_lock_modes_are_folded_into_other()
    {
        var snapshot = MetricsFixtures.Primary();
        var orders = snapshot.Databases.Single(d => d.Name == "orders");
        orders.ConnectionsByState.Add(new NodeSnapshot.Types.StateConnections { State = string.Empty, Connections = 2, LongestTransactionSeconds = 4 });
        orders.ConnectionsByState.Add(new NodeSnapshot.Types.StateConnections { State = "some future state", Connections = 3, LongestTransactionSeconds = 9 });
        orders.LocksByMode.Add(new NodeSnapshot.Types.LockModeCount { Mode = "FutureLock", Locks = 4 });

        var e = Render(snapshot);

        e.AssertLine("fleet_pg_database_connections{datname=\"orders\",state=\"other\"} 5");
        e.AssertLine("fleet_pg_database_longest_transaction_seconds{datname=\"orders\",state=\"other\"} 9");
        e.AssertLine("fleet_pg_database_locks{datname=\"orders\",mode=\"other\"} 4");
        Assert.Equal(3 * 9 + 1, e.CountSamples("fleet_pg_database_locks"));
    }

    [Fact]
    public void Columns_a_version_lacks_are_absent_not_zero()
    {
        // PostgreSQL 13: no session columns, no confl_active_logicalslot; checksums off. PostgreSQL 17: no buffers_backend.
        // Before 18: no num_done.
        var snapshot = MetricsFixtures.Primary();
        foreach (var database in snapshot.Databases)
        {
            database.ClearSessionTimeMs();
            database.ClearActiveTimeMs();
            database.ClearIdleInTransactionTimeMs();
            database.ClearSessions();
            database.ClearSessionsAbandoned();
            database.ClearSessionsFatal();
            database.ClearSessionsKilled();
            database.ClearConflictsActiveLogicalslot();
            database.ClearChecksumFailures();
            database.StatsReset = null;
        }

        snapshot.Bgwriter.ClearBuffersBackend();
        snapshot.Bgwriter.ClearBuffersBackendFsync();
        snapshot.Checkpoints.ClearDone();

        var e = Render(snapshot);

        foreach (var family in new[]
                 {
                     "fleet_pg_database_session_seconds_total", "fleet_pg_database_active_seconds_total",
                     "fleet_pg_database_idle_in_transaction_seconds_total", "fleet_pg_database_sessions_total",
                     "fleet_pg_database_sessions_abandoned_total", "fleet_pg_database_sessions_fatal_total",
                     "fleet_pg_database_sessions_killed_total", "fleet_pg_database_conflicts_active_logicalslot_total",
                     "fleet_pg_database_checksum_failures_total", "fleet_pg_database_stats_reset_timestamp_seconds",
                     "fleet_pg_bgwriter_buffers_backend_total", "fleet_pg_bgwriter_buffers_backend_fsync_total",
                     "fleet_pg_checkpoints_done_total",
                 })
        {
            e.AssertNoFamily(family);
        }

        e.AssertLine("fleet_pg_database_conflicts_lock_total{datname=\"orders\"} 0");
        e.AssertLine("fleet_pg_bgwriter_buffers_alloc_total 1000000");
    }

    [Fact]
    public void Primary_renders_archiver_and_archive_verification()
    {
        var e = Render(MetricsFixtures.Primary(), MetricsFixtures.Archive());

        e.AssertLine("fleet_pg_archiver_mode{mode=\"on\"} 1");
        e.AssertLine("fleet_pg_archiver_archived_total 1234");
        e.AssertLine("fleet_pg_archiver_failed_total 2");
        e.AssertLine("fleet_pg_archiver_last_archived_timestamp_seconds 1699999957.5");
        e.AssertLine("fleet_pg_archiver_last_failed_timestamp_seconds 1699990000");

        e.AssertLine("fleet_archive_verdict{verdict=\"warning\"} 1");
        e.AssertLine("fleet_archive_findings{severity=\"info\"} 2");
        e.AssertLine("fleet_archive_findings{severity=\"warning\"} 1");
        e.AssertLine("fleet_archive_findings{severity=\"critical\"} 0");
        e.AssertLine("fleet_archive_info{archive_region=\"kr-central\",location=\"s3://orders-wal/orders\"} 1");
        e.AssertLine("fleet_archive_in_region 1");
        e.AssertLine("fleet_archive_lag_segments 2");
        e.AssertLine("fleet_archive_lag_bytes 33554432");
        e.AssertLine("fleet_archive_rpo_exposure_seconds 42.5");
        e.AssertLine("fleet_archive_newest_base_backup_age_seconds 3600");
        e.AssertLine("fleet_archive_newest_base_backup_timestamp_seconds 1699996400");
        e.AssertLine("fleet_archive_oldest_base_backup_timestamp_seconds 1699391600");
        e.AssertLine("fleet_archive_verified_segments 1500");
        e.AssertLine("fleet_archive_verification_timestamp_seconds 1699999990");
        e.AssertLine("fleet_archive_verification_duration_seconds 12.75");
        e.AssertLine("fleet_archive_verification_deep 0");

        // Finding messages, subjects and WAL file names never become labels or values.
        Assert.DoesNotContain("segments not archived", e.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("000000030000000300000008", e.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Archive_outside_the_node_region_is_flagged()
    {
        var archive = MetricsFixtures.Archive();
        archive.ArchiveRegion = "us-east";
        archive.Verdict = ArchiveVerdict.Failure;

        var e = Render(MetricsFixtures.Primary(), archive);

        e.AssertLine("fleet_archive_in_region 0");
        e.AssertLine("fleet_archive_verdict{verdict=\"failure\"} 1");
    }

    [Fact]
    public void Database_names_are_escaped()
    {
        var e = Render(MetricsFixtures.Primary());

        e.AssertLine($"fleet_pg_database_xact_commit_total{{datname=\"{MetricsFixtures.WeirdDatabaseEscaped}\"}} 3");
        Assert.Equal("fleet_pg_database_xact_commit_total{datname=\"we\\\"ird\\\\name\\nline2\"} 3", e.Lines.Single(l => l.StartsWith("fleet_pg_database_xact_commit_total{datname=\"we", StringComparison.Ordinal)));
        Assert.DoesNotContain(MetricsFixtures.WeirdDatabase, e.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Replica_renders_recovery_and_receiver()
    {
        var e = Render(MetricsFixtures.Replica());

        e.AssertLine("fleet_agent_info{node=\"orders-db-1\",cluster=\"orders\",region=\"kr-central\",zone=\"kr-central-a\",role=\"replica\",version=\"0.3.0\",pg_version=\"17.2\",system_identifier=\"7301234567890123456\"} 1");
        e.AssertLine("fleet_pg_role{role=\"replica\"} 1");
        e.AssertLine("fleet_pg_wal_receive_lsn_bytes 12884910080");
        e.AssertLine("fleet_pg_wal_replay_lsn_bytes 12884909056");
        e.AssertLine("fleet_pg_replica_replay_delay_seconds 0.25");
        e.AssertLine("fleet_pg_replica_replay_paused 0");
        e.AssertLine("fleet_pg_wal_receiver_up 1");
        e.AssertLine("fleet_pg_wal_receiver_info{status=\"streaming\",sender_host=\"10.0.0.1\",sender_port=\"5432\",slot=\"orders_db_2\"} 1");
        e.AssertLine("fleet_pg_wal_receiver_timeline 3");
        e.AssertLine("fleet_pg_wal_receiver_last_message_send_timestamp_seconds 1699999999.75");
        e.AssertLine("fleet_pg_wal_receiver_last_message_receipt_timestamp_seconds 1700000000");
        e.AssertLine("fleet_pg_database_conflicts_total{datname=\"orders\"} 4");
        e.AssertLine("fleet_pg_replication_standbys 0");
        e.AssertNoFamily("fleet_pg_wal_current_lsn_bytes");
        e.AssertNoFamily("fleet_pg_replication_lag_bytes");
        e.AssertNoFamily("fleet_pg_synchronous_replication_enabled");
    }

    [Fact]
    public void Replica_without_receiver_reports_it_down()
    {
        var snapshot = MetricsFixtures.Replica();
        snapshot.Replica.WalReceiver = null;
        snapshot.Replica.ReplayPaused = true;

        var e = Render(snapshot);

        e.AssertLine("fleet_pg_wal_receiver_up 0");
        e.AssertLine("fleet_pg_replica_replay_paused 1");
        e.AssertNoFamily("fleet_pg_wal_receiver_info");
    }

    [Fact]
    public void Postgres_down_renders_state_and_host_but_no_error_text()
    {
        var e = Render(MetricsFixtures.Down());

        e.AssertLine("fleet_pg_up 0");
        e.AssertLine("fleet_pg_state{state=\"down\"} 1");
        e.AssertLine("fleet_pg_role{role=\"unknown\"} 1");
        e.AssertLine("fleet_agent_info{node=\"orders-db-1\",cluster=\"orders\",region=\"kr-central\",zone=\"kr-central-a\",role=\"unknown\",version=\"0.3.0\",pg_version=\"\",system_identifier=\"\"} 1");
        e.AssertLine("fleet_agent_snapshot_collection_errors 1");
        e.AssertLine("fleet_agent_snapshot_collection_duration_seconds 2.001");
        e.AssertLine("fleet_host_cpu_ratio 0.375");
        e.AssertNoFamily("fleet_pg_replication_standbys");
        e.AssertNoFamily("fleet_pg_connections");
        e.AssertNoFamily("fleet_pg_database_xact_commit_total");
        e.AssertNoFamily("fleet_pg_server_version_num");
        Assert.DoesNotContain("refused", e.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_memory_and_disk_totals_are_absent_not_zero()
    {
        var snapshot = MetricsFixtures.Down();
        snapshot.Host.MemoryTotalBytes = 0;
        snapshot.Host.DiskTotalBytes = 0;
        snapshot.Host.DiskUsedBytes = 0;
        snapshot.Host.ClearCpuPercent();

        var e = Render(snapshot);

        e.AssertLine("fleet_host_memory_used_bytes 8589934592");
        e.AssertNoFamily("fleet_host_memory_total_bytes");
        e.AssertNoFamily("fleet_host_disk_used_bytes");
        e.AssertNoFamily("fleet_host_disk_total_bytes");
        e.AssertNoFamily("fleet_host_cpu_ratio");
    }

    [Fact]
    public void Before_the_first_snapshot_only_agent_metrics_are_rendered()
    {
        var facts = MetricsFixtures.Facts() with { LinkConnected = null, LastCycleDuration = null, CollectionCycles = 0 };

        var e = Exposition.Parse(AgentMetricsWriter.Render(null, facts));

        e.AssertLine("fleet_agent_snapshot_available 0");
        e.AssertLine("fleet_agent_collection_cycles_total 0");
        e.AssertLine("fleet_agent_info{node=\"orders-db-1\",cluster=\"orders\",region=\"kr-central\",zone=\"kr-central-a\",role=\"unknown\",version=\"0.3.0\",pg_version=\"\",system_identifier=\"\"} 1");
        e.AssertNoFamily("fleet_agent_link_connected"); // standalone: no aggregator link to report on
        e.AssertNoFamily("fleet_agent_collection_last_duration_seconds");
        Assert.DoesNotContain(e.Families.Keys, name => name.StartsWith("fleet_pg_", StringComparison.Ordinal) || name.StartsWith("fleet_host_", StringComparison.Ordinal));
    }

    [Fact]
    public void Standbys_sharing_an_application_name_get_distinct_series()
    {
        var snapshot = MetricsFixtures.Primary();
        snapshot.Standbys[0].ApplicationName = "pg_basebackup";
        snapshot.Standbys[1].ApplicationName = "pg_basebackup";

        var e = Render(snapshot);

        e.AssertLine("fleet_pg_replication_lag_bytes{standby=\"pg_basebackup\"} 1024");
        e.AssertLine("fleet_pg_replication_lag_bytes{standby=\"pg_basebackup#2\"} 16785408");
    }

    [Fact]
    public void Strings_outside_a_known_set_become_other()
    {
        var snapshot = MetricsFixtures.Primary();
        snapshot.Standbys[0].State = "some future state";
        snapshot.Slots[0].WalStatus = string.Empty;

        var e = Render(snapshot);

        e.AssertLine("fleet_pg_replication_standby_info{standby=\"orders-db-2\",client_addr=\"10.0.0.2\",state=\"other\",sync_state=\"quorum\"} 1");
        e.AssertLine("fleet_pg_replication_slot_info{slot=\"orders_db_2\",slot_type=\"physical\",wal_status=\"unknown\"} 1");
    }

    [Fact]
    public void Write_returns_the_series_count_and_Render_matches_Write()
    {
        var snapshot = MetricsFixtures.Primary();
        var facts = MetricsFixtures.Facts(MetricsFixtures.Archive());
        var buffer = new ArrayBufferWriter<byte>();

        var count = AgentMetricsWriter.Write(buffer, snapshot, facts);

        var text = Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Equal(AgentMetricsWriter.Render(snapshot, facts), text);
        Assert.Equal(Exposition.Parse(text).Samples.Count, count);
    }

    private static Exposition Render(NodeSnapshot snapshot, ArchiveStatus? archive = null) =>
        Exposition.Parse(AgentMetricsWriter.Render(snapshot, MetricsFixtures.Facts(archive)));
}
