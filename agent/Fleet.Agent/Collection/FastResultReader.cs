using System.Data.Common;
using Fleet.Protos.V1;

namespace Fleet.Agent.Collection;

/// <summary>What the fast batch yields besides the snapshot sections: inputs of the rate and host logic.</summary>
internal sealed class FastFacts
{
    public Dictionary<string, DatabaseCounters> Counters { get; } = new(StringComparer.Ordinal);

    /// <summary>data_directory as the server reports it (null without pg_read_all_settings).</summary>
    public string? DataDirectory { get; set; }
}

/// <summary>Reads the result sets of <see cref="CollectionQueries.FastBatch"/>, in order, into a snapshot.</summary>
internal static partial class FastResultReader
{
    public static async Task<FastFacts> ReadAsync(DbDataReader reader, NodeSnapshot snapshot, CancellationToken cancellationToken)
    {
        var facts = new FastFacts();
        NodeSnapshot.Types.WalReceiver? receiver = null;
        NodeRow node = default;
        if (await reader.ReadAsync(cancellationToken))
        {
            node = ReadNode(reader, snapshot);
            facts.DataDirectory = reader.NullableText(15);
        }

        await NextAsync(reader, cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            receiver = ReadWalReceiver(reader);
        }

        await NextAsync(reader, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            snapshot.Standbys.Add(ReadStandby(reader));
        }

        await NextAsync(reader, cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            snapshot.Archiver = ReadArchiver(reader, node.ArchiveMode);
        }

        await NextAsync(reader, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var slot = new NodeSnapshot.Types.ReplicationSlot
            {
                SlotName = reader.Text(0),
                SlotType = reader.Text(1),
                Active = reader.Boolean(2),
                RestartLsn = reader.UInt64(3),
                WalStatus = reader.Text(5),
            };
            if (reader.NullableUInt64(4) is { } retained)
            {
                slot.RetainedBytes = retained;
            }

            snapshot.Slots.Add(slot);
        }

        await NextAsync(reader, cancellationToken);
        var databases = new Dictionary<string, NodeSnapshot.Types.Database>(StringComparer.Ordinal);
        while (await reader.ReadAsync(cancellationToken))
        {
            var (database, counters) = ReadDatabase(reader);
            snapshot.Databases.Add(database);
            databases[database.Name] = database;
            facts.Counters[database.Name] = counters;
        }

        await NextAsync(reader, cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            var age = reader.UInt64(1);
            snapshot.Wraparound = new NodeSnapshot.Types.Wraparound
            {
                Database = reader.Text(0),
                MaxDatfrozenxidAge = age,
                PercentTowardsWraparound = age / 2147483648.0 * 100,
            };
        }

        await NextAsync(reader, cancellationToken);
        var connections = new NodeSnapshot.Types.Connections { MaxConnections = node.MaxConnections };
        while (await reader.ReadAsync(cancellationToken))
        {
            AddConnections(reader, connections, databases);
        }

        snapshot.Connections = connections;

        await NextAsync(reader, cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            AddLocks(reader, connections, databases);
        }

        await NextAsync(reader, cancellationToken);
        if (await reader.ReadAsync(cancellationToken))
        {
            ReadCheckpoints(reader, snapshot);
        }

        ApplyRole(snapshot, node, receiver);
        return facts;
    }

    private static async Task NextAsync(DbDataReader reader, CancellationToken cancellationToken)
    {
        if (!await reader.NextResultAsync(cancellationToken))
        {
            throw new InvalidOperationException("The collection batch returned fewer result sets than it has commands.");
        }
    }

    private readonly record struct NodeRow(
        bool InRecovery, uint CheckpointTimeline, uint MinRecoveryTimeline, string? CurrentWalFile,
        ulong ReceiveLsn, ulong ReplayLsn, double? ReplayDelay, bool ReplayPaused, string ArchiveMode, uint MaxConnections);

    private static NodeRow ReadNode(DbDataReader reader, NodeSnapshot snapshot)
    {
        var row = new NodeRow(
            InRecovery: reader.Boolean(0),
            CheckpointTimeline: reader.UInt32(2),
            MinRecoveryTimeline: reader.UInt32(3),
            CurrentWalFile: reader.NullableText(4),
            ReceiveLsn: reader.UInt64(8),
            ReplayLsn: reader.UInt64(9),
            ReplayDelay: reader.NullableSeconds(10),
            ReplayPaused: reader.Boolean(11),
            ArchiveMode: reader.Text(13),
            MaxConnections: reader.UInt32(14));
        snapshot.SystemIdentifier = reader.Bits64(1);
        if (!row.InRecovery)
        {
            snapshot.Primary = new NodeSnapshot.Types.Primary
            {
                CurrentLsn = reader.UInt64(5),
                InsertLsn = reader.UInt64(6),
                FlushLsn = reader.UInt64(7),
                SynchronousStandbyNames = reader.Text(12),
            };
        }

        return row;
    }

    private static NodeSnapshot.Types.Archiver ReadArchiver(DbDataReader reader, string archiveMode) => new()
    {
        ArchiveMode = archiveMode,
        ArchivedCount = reader.UInt64(0),
        LastArchivedWal = reader.Text(1),
        LastArchivedTime = reader.NullableTimestamp(2),
        FailedCount = reader.UInt64(3),
        LastFailedWal = reader.Text(4),
        LastFailedTime = reader.NullableTimestamp(5),
    };

    private static (NodeSnapshot.Types.Database Database, DatabaseCounters Counters) ReadDatabase(DbDataReader reader)
    {
        var counters = new DatabaseCounters(
            Commits: reader.UInt64(1),
            Rollbacks: reader.UInt64(2),
            BlocksHit: reader.UInt64(3),
            BlocksRead: reader.UInt64(4),
            Deadlocks: reader.UInt64(5),
            TempBytes: reader.UInt64(8),
            StatsReset: reader.NullableUtc(9));
        var database = new NodeSnapshot.Types.Database
        {
            Name = reader.Text(0),
            Commits = counters.Commits,
            Rollbacks = counters.Rollbacks,
            BlksHit = counters.BlocksHit,
            BlksRead = counters.BlocksRead,
            Deadlocks = counters.Deadlocks,
            Conflicts = reader.UInt64(6),
            TempFiles = reader.UInt64(7),
            TempBytes = counters.TempBytes,
            StatsReset = reader.NullableTimestamp(9),
            Backends = reader.UInt32(10),
            TupReturned = reader.UInt64(11),
            TupFetched = reader.UInt64(12),
            TupInserted = reader.UInt64(13),
            TupUpdated = reader.UInt64(14),
            TupDeleted = reader.UInt64(15),
            BlkReadTimeMs = reader.NullableDouble(16) ?? 0,
            BlkWriteTimeMs = reader.NullableDouble(17) ?? 0,
            ChecksumLastFailure = reader.NullableTimestamp(19),
            ConflictsTablespace = reader.UInt64(20),
            ConflictsLock = reader.UInt64(21),
            ConflictsSnapshot = reader.UInt64(22),
            ConflictsBufferpin = reader.UInt64(23),
            ConflictsDeadlock = reader.UInt64(24),
        };
        if (RateCalculator.HitRatio(counters.BlocksHit, counters.BlocksRead) is { } ratio)
        {
            database.HitRatio = ratio;
        }

        // NULL: checksums disabled (checksum_failures), or a column this server version does not have.
        if (reader.NullableUInt64(18) is { } checksumFailures)
        {
            database.ChecksumFailures = checksumFailures;
        }

        if (reader.NullableUInt64(25) is { } logicalSlot)
        {
            database.ConflictsActiveLogicalslot = logicalSlot;
        }

        ReadSessionStatistics(reader, database);
        return (database, counters);
    }

    /// <summary>The 14+ session columns (ordinals 26..32); NULL before 14, so the fields stay unset.</summary>
    private static void ReadSessionStatistics(DbDataReader reader, NodeSnapshot.Types.Database database)
    {
        if (reader.NullableDouble(26) is { } sessionTime)
        {
            database.SessionTimeMs = sessionTime;
        }

        if (reader.NullableDouble(27) is { } activeTime)
        {
            database.ActiveTimeMs = activeTime;
        }

        if (reader.NullableDouble(28) is { } idleInTransactionTime)
        {
            database.IdleInTransactionTimeMs = idleInTransactionTime;
        }

        if (reader.NullableUInt64(29) is { } sessions)
        {
            database.Sessions = sessions;
        }

        if (reader.NullableUInt64(30) is { } abandoned)
        {
            database.SessionsAbandoned = abandoned;
        }

        if (reader.NullableUInt64(31) is { } fatal)
        {
            database.SessionsFatal = fatal;
        }

        if (reader.NullableUInt64(32) is { } killed)
        {
            database.SessionsKilled = killed;
        }
    }

    /// <summary>
    /// One (database, state) group of client backends: added to the server-wide figures, and to the
    /// database's breakdown when the database is one the snapshot carries (templates and databases
    /// beyond the cap count only server-wide).
    /// </summary>
    private static void AddConnections(
        DbDataReader reader, NodeSnapshot.Types.Connections connections, Dictionary<string, NodeSnapshot.Types.Database> databases)
    {
        var state = reader.Text(1);
        var count = reader.UInt32(2);
        var longestTransaction = reader.NullableSeconds(4);
        connections.Total += count;
        connections.Waiting += reader.UInt32(3);
        switch (state)
        {
            case "active":
                connections.Active += count;
                break;
            case "idle":
                connections.Idle += count;
                break;
            case "idle in transaction":
                connections.IdleInTransaction += count;
                break;
            case "idle in transaction (aborted)":
                connections.IdleInTransactionAborted += count;
                break;
        }

        if (longestTransaction is { } age &&
            (!connections.HasLongestTransactionSeconds || age > connections.LongestTransactionSeconds))
        {
            connections.LongestTransactionSeconds = age;
        }

        if (state is "idle in transaction" or "idle in transaction (aborted)" &&
            reader.NullableSeconds(5) is { } idle &&
            (!connections.HasLongestIdleInTransactionSeconds || idle > connections.LongestIdleInTransactionSeconds))
        {
            connections.LongestIdleInTransactionSeconds = idle;
        }

        if (reader.NullableText(0) is { } name && databases.TryGetValue(name, out var database))
        {
            var group = new NodeSnapshot.Types.StateConnections { State = state, Connections = count };
            if (longestTransaction is { } groupAge)
            {
                group.LongestTransactionSeconds = groupAge;
            }

            database.ConnectionsByState.Add(group);
        }
    }

    /// <summary>One (database, mode) group of pg_locks: ungranted requests count server-wide, the group per database when it has one the snapshot carries.</summary>
    private static void AddLocks(
        DbDataReader reader, NodeSnapshot.Types.Connections connections, Dictionary<string, NodeSnapshot.Types.Database> databases)
    {
        var waiting = reader.UInt32(3);
        connections.WaitingLocks += waiting;
        if (reader.NullableText(0) is { } name && databases.TryGetValue(name, out var database))
        {
            database.LocksByMode.Add(new NodeSnapshot.Types.LockModeCount { Mode = reader.Text(1), Locks = reader.UInt32(2), Waiting = waiting });
        }
    }

    private static void ReadCheckpoints(DbDataReader reader, NodeSnapshot snapshot)
    {
        snapshot.Checkpoints = new NodeSnapshot.Types.Checkpoints
        {
            Timed = reader.UInt64(0),
            Requested = reader.UInt64(1),
            WriteTimeMs = reader.NullableDouble(2) ?? 0,
            SyncTimeMs = reader.NullableDouble(3) ?? 0,
            BuffersWritten = reader.UInt64(4),
            StatsReset = reader.NullableTimestamp(11),
        };
        snapshot.Bgwriter = new NodeSnapshot.Types.BgWriter
        {
            BuffersClean = reader.UInt64(5),
            MaxwrittenClean = reader.UInt64(6),
            BuffersAlloc = reader.UInt64(7),
            StatsReset = reader.NullableTimestamp(10),
        };

        // NULL before PostgreSQL 18, which added num_done: the field stays unset.
        if (reader.NullableUInt64(12) is { } done)
        {
            snapshot.Checkpoints.Done = done;
        }

        // NULL from PostgreSQL 17, which no longer has these columns: the fields stay unset.
        if (reader.NullableUInt64(8) is { } backend)
        {
            snapshot.Bgwriter.BuffersBackend = backend;
        }

        if (reader.NullableUInt64(9) is { } backendFsync)
        {
            snapshot.Bgwriter.BuffersBackendFsync = backendFsync;
        }
    }
}
