using System.Globalization;
using System.Reflection;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Bench.Metrics;

/// <summary>How big a node the snapshot describes.</summary>
internal sealed record SnapshotShape(int Databases, int TopTables, int Standbys, int Slots, int Settings)
{
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Databases} databases, {TopTables} top tables, {Standbys} standbys, {Slots} slots, {Settings} settings");
}

/// <summary>
/// A primary's NodeSnapshot as the collector fills it on PostgreSQL 17 (every section present), generated
/// for a <see cref="SnapshotShape"/> with deterministic pseudo-random values: counters in the millions to
/// billions, fractional seconds and ratios, realistic names (setting names are PostgreSQL 15's numeric and
/// boolean settings). The shape of the values follows tests/Fleet.Agent.Tests/Metrics/MetricsFixtures.cs.
/// </summary>
internal static class SnapshotFactory
{
    private static readonly string[] AppDatabases = ["orders", "billing", "inventory", "customers", "analytics", "audit", "catalog", "payments", "search", "sessions"];
    private static readonly string[] TableNames = ["orders", "order_items", "payments", "events", "sessions", "audit_log", "customers", "invoices", "shipments", "stock_moves"];

    public static NodeSnapshot Primary(SnapshotShape shape, int seed = 20_240_601)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var random = new Random(seed);
        var now = 1_700_000_000L;
        var snapshot = new NodeSnapshot
        {
            CollectedAt = At(now, 500_000_000),
            CollectionSeconds = 0.042,
            RateIntervalSeconds = 1.0,
            PostgresState = PostgresState.Up,
            ServerVersionNum = 170_002,
            ServerVersion = "17.2",
            Role = NodeRole.Primary,
            Timeline = 3,
            SystemIdentifier = 7_301_234_567_890_123_456,
            Primary = new NodeSnapshot.Types.Primary
            {
                CurrentLsn = 0x3_0000_2000,
                InsertLsn = 0x3_0000_2100,
                FlushLsn = 0x3_0000_1F00,
                SynchronousStandbyNames = "ANY 1 (orders-db-2, orders-db-3)",
            },
            Archiver = new NodeSnapshot.Types.Archiver
            {
                ArchiveMode = "on",
                ArchivedCount = 123_456,
                LastArchivedWal = "000000030000000300000008",
                LastArchivedTime = At(now - 42, 500_000_000),
                FailedCount = 2,
                LastFailedWal = "000000030000000300000007",
                LastFailedTime = At(now - 10_000),
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
                Timed = 2_880, Requested = 7, WriteTimeMs = 12_345_678, SyncTimeMs = 7_890, BuffersWritten = 5_555_555, StatsReset = At(now - 2_592_000),
            },
            Bgwriter = new NodeSnapshot.Types.BgWriter
            {
                BuffersClean = 432_100, MaxwrittenClean = 9, BuffersAlloc = 100_000_000, StatsReset = At(now - 2_592_000),
            },
            Wraparound = new NodeSnapshot.Types.Wraparound { MaxDatfrozenxidAge = 200_000_000, Database = "orders", PercentTowardsWraparound = 9.31 },
            Host = new NodeSnapshot.Types.Host
            {
                CpuPercent = 37.5,
                MemoryUsedBytes = 8_589_934_592,
                MemoryTotalBytes = 17_179_869_184,
                DiskUsedBytes = 107_374_182_400,
                DiskTotalBytes = 536_870_912_000,
            },
        };

        for (var i = 0; i < shape.Standbys; i++)
        {
            var lag = (ulong)random.Next(0, 1 << 24);
            snapshot.Standbys.Add(new NodeSnapshot.Types.Standby
            {
                ApplicationName = Name("orders-db-", i + 2),
                ClientAddr = Name("10.0.0.", i + 2),
                State = "streaming",
                SyncState = i == 0 ? "quorum" : "async",
                SentLsn = 0x3_0000_2000,
                WriteLsn = 0x3_0000_1F00,
                FlushLsn = 0x3_0000_1E00,
                ReplayLsn = 0x3_0000_2000 - lag,
                LagBytes = lag,
                WriteLagSeconds = random.NextDouble() / 100,
                FlushLagSeconds = random.NextDouble() / 50,
                ReplayLagSeconds = random.NextDouble() / 20,
            });
        }

        for (var i = 0; i < shape.Slots; i++)
        {
            var logical = i >= shape.Standbys;
            snapshot.Slots.Add(new NodeSnapshot.Types.ReplicationSlot
            {
                SlotName = logical ? Name("cdc_", i) : Name("orders_db_", i + 2),
                SlotType = logical ? "logical" : "physical",
                Active = i % 4 != 3,
                RestartLsn = 0x3_0000_0000 + (ulong)random.Next(0, 1 << 20),
                RetainedBytes = (ulong)random.Next(0, 1 << 26),
                WalStatus = "reserved",
            });
        }

        for (var i = 0; i < shape.Databases; i++)
        {
            snapshot.Databases.Add(Database(DatabaseName(i), random, now, openTransactions: i < 2));
        }

        snapshot.TableHealth = new NodeSnapshot.Types.TableHealth { AsOf = At(now - 300) };
        for (var i = 0; i < shape.TopTables; i++)
        {
            var live = (ulong)random.Next(10_000, 50_000_000);
            var dead = (ulong)random.Next(0, (int)Math.Min(live, int.MaxValue));
            var total = (ulong)random.NextInt64(8_192, 100L << 30);
            var bloat = total * (ulong)random.Next(0, 60) / 100;
            snapshot.TableHealth.TopTables.Add(new NodeSnapshot.Types.TableStats
            {
                Database = DatabaseName(1 + (i % Math.Max(1, shape.Databases - 1))),
                Name = string.Create(CultureInfo.InvariantCulture, $"public.{TableNames[i % TableNames.Length]}{(i < TableNames.Length ? string.Empty : "_p" + (i / TableNames.Length).ToString(CultureInfo.InvariantCulture))}"),
                LiveTuples = live,
                DeadTuples = dead,
                DeadRatio = (double)dead / (live + dead),
                TotalBytes = total,
                EstimatedBloatBytes = bloat,
                EstimatedBloatRatio = (double)bloat / total,
            });
        }

        snapshot.Settings = new NodeSnapshot.Types.Settings { AsOf = At(now - 300, 250_000_000) };
        var known = KnownSettings();
        for (var i = 0; i < shape.Settings; i++)
        {
            var (name, type) = i < known.Count
                ? known[i]
                : (string.Create(CultureInfo.InvariantCulture, $"ext_{(i - known.Count) / 20:00}.setting_{(i - known.Count) % 20:00}"), "integer");
            var value = type switch
            {
                "bool" or "boolean" => random.Next(0, 2),
                "real" => Math.Round(random.NextDouble() * 10, 4),
                _ => random.Next(0, 4) switch
                {
                    0 => -1,
                    1 => random.Next(0, 1000),
                    2 => random.NextInt64(1, 1L << 34),
                    _ => random.Next(1, 86_400),
                },
            };
            snapshot.Settings.Items.Add(new NodeSnapshot.Types.Setting { Name = name, Value = value });
        }

        return snapshot;
    }

    /// <summary>A WAL archive verification with findings, base backups and a region (fleet_archive_*).</summary>
    public static ArchiveStatus Archive() => new()
    {
        Verdict = ArchiveVerdict.Warning,
        Findings =
        {
            new Finding { Severity = Severity.Warning, Code = "archive_lag", Message = "2 segments not archived", Subject = "00000003000000030000000A" },
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
        ArchiveRegion = "kr-central",
        ArchiveLocation = "s3://orders-wal/orders",
    };

    private static NodeSnapshot.Types.Database Database(string name, Random random, long now, bool openTransactions)
    {
        var hit = (ulong)random.NextInt64(1_000_000, 100_000_000_000);
        var read = hit / (ulong)random.Next(20, 1000);
        var database = new NodeSnapshot.Types.Database
        {
            Name = name,
            Backends = (uint)random.Next(1, 40),
            Commits = (ulong)random.NextInt64(10_000, 5_000_000_000),
            Rollbacks = (ulong)random.Next(0, 100_000),
            BlksHit = hit,
            BlksRead = read,
            HitRatio = (double)hit / (hit + read),
            BlkReadTimeMs = Math.Round(random.NextDouble() * 1e7, 3),
            BlkWriteTimeMs = Math.Round(random.NextDouble() * 1e6, 3),
            TupReturned = (ulong)random.NextInt64(1_000_000, 1_000_000_000_000),
            TupFetched = (ulong)random.NextInt64(1_000_000, 100_000_000_000),
            TupInserted = (ulong)random.NextInt64(1_000, 1_000_000_000),
            TupUpdated = (ulong)random.NextInt64(1_000, 1_000_000_000),
            TupDeleted = (ulong)random.NextInt64(1_000, 100_000_000),
            Deadlocks = (ulong)random.Next(0, 10),
            Conflicts = 0,
            TempFiles = (ulong)random.Next(0, 10_000),
            TempBytes = (ulong)random.NextInt64(0, 100L << 30),
            ChecksumFailures = 0,
            StatsReset = At(now - 2_592_000),
            SessionTimeMs = Math.Round(random.NextDouble() * 1e10, 3),
            ActiveTimeMs = Math.Round(random.NextDouble() * 1e9, 3),
            IdleInTransactionTimeMs = Math.Round(random.NextDouble() * 1e8, 3),
            Sessions = (ulong)random.Next(1, 10_000_000),
            SessionsAbandoned = (ulong)random.Next(0, 100),
            SessionsFatal = (ulong)random.Next(0, 100),
            SessionsKilled = (ulong)random.Next(0, 10),
            ConflictsActiveLogicalslot = 0,
            SizeBytes = (ulong)random.NextInt64(8_000_000, 500L << 30),
            SizeAsOf = At(now - 300),
        };
        database.ConnectionsByState.Add(new NodeSnapshot.Types.StateConnections { State = "active", Connections = (uint)random.Next(0, 10) });
        database.ConnectionsByState.Add(new NodeSnapshot.Types.StateConnections { State = "idle", Connections = (uint)random.Next(0, 30) });
        if (openTransactions)
        {
            database.ConnectionsByState[0].LongestTransactionSeconds = Math.Round(random.NextDouble() * 5, 6);
            database.ConnectionsByState.Add(new NodeSnapshot.Types.StateConnections { State = "idle in transaction", Connections = 1, LongestTransactionSeconds = Math.Round(random.NextDouble() * 60, 6) });
        }

        database.LocksByMode.Add(new NodeSnapshot.Types.LockModeCount { Mode = "AccessShareLock", Locks = (uint)random.Next(0, 50) });
        database.LocksByMode.Add(new NodeSnapshot.Types.LockModeCount { Mode = "RowExclusiveLock", Locks = (uint)random.Next(0, 20) });
        database.LocksByMode.Add(new NodeSnapshot.Types.LockModeCount { Mode = "ExclusiveLock", Locks = (uint)random.Next(0, 5) });
        return database;
    }

    /// <summary>postgres, then the application databases (orders, billing, ...; db_NN beyond the list).</summary>
    private static string DatabaseName(int index) => index == 0
        ? "postgres"
        : index <= AppDatabases.Length ? AppDatabases[index - 1] : Name("db_", index);

    private static List<(string Name, string Type)> KnownSettings()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("pg15-settings.txt")
            ?? throw new InvalidOperationException("embedded resource pg15-settings.txt is missing");
        using var reader = new StreamReader(stream);
        var settings = new List<(string, string)>();
        while (reader.ReadLine() is { } line)
        {
            var tab = line.IndexOf('\t', StringComparison.Ordinal);
            if (tab > 0)
            {
                settings.Add((line[..tab], line[(tab + 1)..]));
            }
        }

        return settings;
    }

    private static string Name(string prefix, int index) => string.Create(CultureInfo.InvariantCulture, $"{prefix}{index}");

    private static Timestamp At(long seconds, int nanos = 0) => new() { Seconds = seconds, Nanos = nanos };
}
