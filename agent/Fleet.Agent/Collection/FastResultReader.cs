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
        while (await reader.ReadAsync(cancellationToken))
        {
            var (database, counters) = ReadDatabase(reader);
            snapshot.Databases.Add(database);
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
        if (await reader.ReadAsync(cancellationToken))
        {
            snapshot.Connections = ReadConnections(reader, node.MaxConnections);
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
        };
        if (RateCalculator.HitRatio(counters.BlocksHit, counters.BlocksRead) is { } ratio)
        {
            database.HitRatio = ratio;
        }

        return (database, counters);
    }

    private static NodeSnapshot.Types.Connections ReadConnections(DbDataReader reader, uint maxConnections)
    {
        var connections = new NodeSnapshot.Types.Connections
        {
            Total = reader.UInt32(0),
            Active = reader.UInt32(1),
            Idle = reader.UInt32(2),
            IdleInTransaction = reader.UInt32(3),
            IdleInTransactionAborted = reader.UInt32(4),
            Waiting = reader.UInt32(5),
            WaitingLocks = reader.UInt32(6),
            MaxConnections = maxConnections,
        };
        if (reader.NullableSeconds(7) is { } longest)
        {
            connections.LongestTransactionSeconds = longest;
        }

        if (reader.NullableSeconds(8) is { } idle)
        {
            connections.LongestIdleInTransactionSeconds = idle;
        }

        return connections;
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
        };
        snapshot.Bgwriter = new NodeSnapshot.Types.BgWriter
        {
            BuffersClean = reader.UInt64(5),
            MaxwrittenClean = reader.UInt64(6),
            BuffersAlloc = reader.UInt64(7),
        };
    }
}
