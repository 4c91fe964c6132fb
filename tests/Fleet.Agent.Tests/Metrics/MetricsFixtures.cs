using Fleet.Agent.Metrics;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Tests.Metrics;

/// <summary>Snapshots and agent facts with known values, shared by the metrics tests.</summary>
internal static class MetricsFixtures
{
    /// <summary>A database name needing every escape: double quote, backslash and a line feed.</summary>
    public const string WeirdDatabase = "we\"ird\\name\nline2";

    public const string WeirdDatabaseEscaped = "we\\\"ird\\\\name\\nline2";

    public static readonly AgentIdentity Identity = new("orders-db-1", "orders", "kr-central", "kr-central-a");

    public static AgentFacts Facts(ArchiveStatus? archive = null) => new()
    {
        Identity = Identity,
        AgentVersion = "0.3.0",
        Uptime = TimeSpan.FromSeconds(3600.25),
        LinkConnected = true,
        LinkReconnects = 3,
        CollectionCycles = 3600,
        CollectionFailures = 2,
        LastCycleDuration = TimeSpan.FromMilliseconds(42),
        ArchiveStatus = archive,
        Runtime = new AgentRuntimeFacts(48_000_000, 6_500_000, 9_000_000, [120, 8, 3], 100, 12),
    };

    public static Timestamp At(long seconds, int nanos = 0) => new() { Seconds = seconds, Nanos = nanos };

    /// <summary>A primary with every field set: 2 standbys, 3 databases (one oddly named), 3 slots, 2 tables.</summary>
    public static NodeSnapshot Primary()
    {
        var snapshot = Common(NodeRole.Primary);
        snapshot.CollectionErrors.Add("bloat: canceling statement due to statement timeout");
        snapshot.Primary = new NodeSnapshot.Types.Primary
        {
            CurrentLsn = 0x3_0000_2000,
            InsertLsn = 0x3_0000_2100,
            FlushLsn = 0x3_0000_1F00,
            SynchronousStandbyNames = "ANY 1 (orders-db-2, orders-db-3)",
        };
        snapshot.Standbys.Add(new NodeSnapshot.Types.Standby
        {
            ApplicationName = "orders-db-2",
            ClientAddr = "10.0.0.2",
            State = "streaming",
            SyncState = "quorum",
            SentLsn = 0x3_0000_2000,
            WriteLsn = 0x3_0000_1F00,
            FlushLsn = 0x3_0000_1E00,
            ReplayLsn = 0x3_0000_1C00,
            LagBytes = 1024,
            WriteLagSeconds = 0.001,
            FlushLagSeconds = 0.002,
            ReplayLagSeconds = 0.0035,
        });
        snapshot.Standbys.Add(new NodeSnapshot.Types.Standby
        {
            ApplicationName = "orders-db-3",
            ClientAddr = "10.0.0.3",
            State = "catchup",
            SyncState = "async",
            SentLsn = 0x2_FF00_0000,
            WriteLsn = 0x2_FF00_0000,
            FlushLsn = 0x2_FF00_0000,
            ReplayLsn = 0x2_FF00_0000,
            LagBytes = 16_785_408,
        });
        snapshot.Slots.Add(new NodeSnapshot.Types.ReplicationSlot { SlotName = "orders_db_2", SlotType = "physical", Active = true, RestartLsn = 0x3_0000_1800, RetainedBytes = 2048, WalStatus = "reserved" });
        snapshot.Slots.Add(new NodeSnapshot.Types.ReplicationSlot { SlotName = "orders_db_3", SlotType = "physical", Active = false, RestartLsn = 0x2_FE00_0000, RetainedBytes = 33_562_624, WalStatus = "extended" });
        snapshot.Slots.Add(new NodeSnapshot.Types.ReplicationSlot { SlotName = "cdc", SlotType = "logical", Active = true, RestartLsn = 0x3_0000_0000, RetainedBytes = 8192, WalStatus = "reserved" });
        snapshot.Databases.Add(Database("postgres", 1000));
        var orders = Database("orders", 987_654_321);
        orders.ChecksumFailures = 2;
        orders.ChecksumLastFailure = At(1_699_999_000);
        snapshot.Databases.Add(orders);
        snapshot.Databases.Add(Database(WeirdDatabase, 3));
        snapshot.Wraparound = new NodeSnapshot.Types.Wraparound { MaxDatfrozenxidAge = 200_000_000, Database = "orders", PercentTowardsWraparound = 25 };
        snapshot.TableHealth = new NodeSnapshot.Types.TableHealth { AsOf = At(1_699_999_700) };
        snapshot.TableHealth.TopTables.Add(new NodeSnapshot.Types.TableStats
        {
            Database = "orders",
            Name = "public.orders",
            LiveTuples = 1_000_000,
            DeadTuples = 250_000,
            DeadRatio = 0.2,
            TotalBytes = 536_870_912,
            EstimatedBloatBytes = 134_217_728,
            EstimatedBloatRatio = 0.25,
        });
        snapshot.TableHealth.TopTables.Add(new NodeSnapshot.Types.TableStats { Database = "orders", Name = "public.empty", LiveTuples = 0, DeadTuples = 0 });
        return snapshot;
    }

    /// <summary>A streaming replica with every replica field set.</summary>
    public static NodeSnapshot Replica()
    {
        var snapshot = Common(NodeRole.Replica);
        snapshot.Replica = new NodeSnapshot.Types.Replica
        {
            ReceiveLsn = 0x3_0000_2000,
            ReplayLsn = 0x3_0000_1C00,
            ReplayDelaySeconds = 0.25,
            ReplayPaused = false,
            WalReceiver = new NodeSnapshot.Types.WalReceiver
            {
                Status = "streaming",
                SenderHost = "10.0.0.1",
                SenderPort = 5432,
                SlotName = "orders_db_2",
                ReceivedTimeline = 3,
                LastMsgSendTime = At(1_699_999_999, 750_000_000),
                LastMsgReceiptTime = At(1_700_000_000, 0),
            },
        };
        var orders = Database("orders", 987_654_321);
        orders.Conflicts = 4;
        orders.ConflictsSnapshot = 3;
        orders.ConflictsLock = 1;
        snapshot.Databases.Add(orders);
        return snapshot;
    }

    /// <summary>PostgreSQL down: only the host section and the error are known.</summary>
    public static NodeSnapshot Down()
    {
        var snapshot = new NodeSnapshot
        {
            CollectedAt = At(1_700_000_000),
            CollectionSeconds = 2.001,
            PostgresState = PostgresState.Down,
            PostgresError = "connection refused: is the server running on host \"/var/run/postgresql\"?",
            Role = NodeRole.Unknown,
            Host = Host(),
        };
        snapshot.CollectionErrors.Add("connect: connection refused");
        return snapshot;
    }

    /// <summary>A WAL archive verification with warnings, base backups and a region.</summary>
    public static ArchiveStatus Archive() => new()
    {
        Verdict = ArchiveVerdict.Warning,
        FirstProblem = new Finding { Severity = Severity.Warning, Code = "archive_lag", Message = "2 segments not archived", Subject = "00000003000000030000000A" },
        Findings =
        {
            new Finding { Severity = Severity.Warning, Code = "archive_lag", Message = "2 segments not archived", Subject = "00000003000000030000000A" },
            new Finding { Severity = Severity.Info, Code = "partial_segment", Message = "a .partial file", Subject = "000000020000000200000001.partial" },
            new Finding { Severity = Severity.Info, Code = "history_file", Message = "timeline history", Subject = "00000003.history" },
        },
        LastArchivedSegment = "000000030000000300000008",
        ArchiveLagSegments = 2,
        ArchiveLagBytes = 33_554_432,
        RpoExposureSeconds = 42.5,
        NewestBaseBackup = new BaseBackup { Name = "base_20231114", Timeline = 3, StartLsn = 0x3_0000_0028, StartSegment = "000000030000000300000000", FinishedAt = At(1_699_996_400) },
        NewestBaseBackupAgeSeconds = 3600,
        OldestBaseBackup = new BaseBackup { Name = "base_20231107", Timeline = 2, StartLsn = 0x2_0000_0028, StartSegment = "000000020000000200000000", FinishedAt = At(1_699_391_600) },
        SegmentsVerified = 1500,
        VerifiedAt = At(1_699_999_990),
        DurationSeconds = 12.75,
        Deep = false,
        ArchiveRegion = "kr-central",
        ArchiveLocation = "s3://orders-wal/orders",
    };

    /// <summary>A database as PostgreSQL 17 reports it: session columns and confl_active_logicalslot present, checksums on.</summary>
    public static NodeSnapshot.Types.Database Database(string name, ulong commits) => new()
    {
        Name = name,
        Backends = 9,
        TupReturned = 5_000_000,
        TupFetched = 2_000_000,
        TupInserted = 10_000,
        TupUpdated = 4_000,
        TupDeleted = 1_000,
        BlkReadTimeMs = 1_500,
        BlkWriteTimeMs = 250.5,
        ChecksumFailures = 0,
        StatsReset = At(1_699_000_000),
        SessionTimeMs = 3_600_000,
        ActiveTimeMs = 600_000,
        IdleInTransactionTimeMs = 60_000,
        Sessions = 1200,
        SessionsAbandoned = 3,
        SessionsFatal = 1,
        SessionsKilled = 2,
        ConflictsActiveLogicalslot = 0,
        ConnectionsByState =
        {
            new NodeSnapshot.Types.StateConnections { State = "active", Connections = 2, LongestTransactionSeconds = 1.5 },
            new NodeSnapshot.Types.StateConnections { State = "idle", Connections = 5 },
            new NodeSnapshot.Types.StateConnections { State = "idle in transaction", Connections = 1, LongestTransactionSeconds = 12.5 },
        },
        LocksByMode =
        {
            new NodeSnapshot.Types.LockModeCount { Mode = "AccessExclusiveLock", Locks = 1 },
            new NodeSnapshot.Types.LockModeCount { Mode = "AccessShareLock", Locks = 12 },
            new NodeSnapshot.Types.LockModeCount { Mode = "RowExclusiveLock", Locks = 3 },
            new NodeSnapshot.Types.LockModeCount { Mode = "ShareLock", Locks = 1, Waiting = 1 },
        },
        Commits = commits,
        Rollbacks = 12,
        BlksHit = 990_000,
        BlksRead = 10_000,
        HitRatio = 0.99,
        IntervalHitRatio = 0.5,
        Deadlocks = 1,
        Conflicts = 0,
        TempFiles = 5,
        TempBytes = 10_485_760,
        SizeBytes = 83_886_080,
        SizeAsOf = At(1_699_999_700),
        CommitsPerSecond = 120.5,
        RollbacksPerSecond = 0.5,
        DeadlocksPerHour = 0,
        TempBytesPerSecond = 1024,
    };

    private static NodeSnapshot Common(NodeRole role)
    {
        var snapshot = new NodeSnapshot
        {
            CollectedAt = At(1_700_000_000, 500_000_000),
            CollectionSeconds = 0.042,
            RateIntervalSeconds = 1.0,
            PostgresState = PostgresState.Up,
            ServerVersionNum = 170_002,
            ServerVersion = "17.2",
            Role = role,
            Timeline = 3,
            SystemIdentifier = 7_301_234_567_890_123_456,
            Archiver = new NodeSnapshot.Types.Archiver
            {
                ArchiveMode = "on",
                ArchivedCount = 1234,
                LastArchivedWal = "000000030000000300000008",
                LastArchivedTime = At(1_699_999_957, 500_000_000),
                FailedCount = 2,
                LastFailedWal = "000000030000000300000007",
                LastFailedTime = At(1_699_990_000),
            },
            Connections = new NodeSnapshot.Types.Connections
            {
                Total = 57,
                Active = 5,
                Idle = 40,
                IdleInTransaction = 3,
                IdleInTransactionAborted = 1,
                Waiting = 2,
                MaxConnections = 200,
                WaitingLocks = 4,
                LongestTransactionSeconds = 12.5,
                LongestIdleInTransactionSeconds = 3.25,
            },
            Checkpoints = new NodeSnapshot.Types.Checkpoints
            {
                Timed = 100, Requested = 7, Done = 90, WriteTimeMs = 123_456, SyncTimeMs = 789, BuffersWritten = 55_555, StatsReset = At(1_699_000_100),
            },

            // buffers_backend(_fsync) are gone in 17 but set here, so that every family renders somewhere.
            Bgwriter = new NodeSnapshot.Types.BgWriter
            {
                BuffersClean = 4321, MaxwrittenClean = 9, BuffersAlloc = 1_000_000, BuffersBackend = 2_222, BuffersBackendFsync = 1, StatsReset = At(1_699_000_200),
            },
            Host = Host(),
            Settings = Settings(),
        };
        return snapshot;
    }

    /// <summary>Server settings as the collector converts them: bytes, seconds, 1/0, unitless, an extension's, and a -1.</summary>
    public static NodeSnapshot.Types.Settings Settings() => new()
    {
        AsOf = At(1_699_999_700, 250_000_000),
        Items =
        {
            new NodeSnapshot.Types.Setting { Name = "bgwriter_delay", Value = 0.2, Unit = "seconds" },
            new NodeSnapshot.Types.Setting { Name = "checkpoint_timeout", Value = 300, Unit = "seconds" },
            new NodeSnapshot.Types.Setting { Name = "cpu_tuple_cost", Value = 0.01 },
            new NodeSnapshot.Types.Setting { Name = "fsync", Value = 1 },
            new NodeSnapshot.Types.Setting { Name = "hot_standby", Value = 1 },
            new NodeSnapshot.Types.Setting { Name = "max_connections", Value = 200 },
            new NodeSnapshot.Types.Setting { Name = "pg_stat_statements.max", Value = 5000 },
            new NodeSnapshot.Types.Setting { Name = "shared_buffers", Value = 134_217_728, Unit = "bytes" },
            new NodeSnapshot.Types.Setting { Name = "temp_file_limit", Value = -1, Unit = "bytes" },
            new NodeSnapshot.Types.Setting { Name = "track_io_timing", Value = 0 },
            new NodeSnapshot.Types.Setting { Name = "work_mem", Value = 4_194_304, Unit = "bytes" },
        },
    };

    private static NodeSnapshot.Types.Host Host() => new()
    {
        CpuPercent = 37.5,
        MemoryUsedBytes = 8_589_934_592,
        MemoryTotalBytes = 17_179_869_184,
        DiskUsedBytes = 107_374_182_400,
        DiskTotalBytes = 536_870_912_000,
    };
}
