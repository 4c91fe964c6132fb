using System.Globalization;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Bench.Aggregator.Simulation;

/// <summary>
/// The snapshot one simulated agent reports: what a real agent collects from a healthy PostgreSQL 17
/// node (3 databases, 10 tables, replication, archiver, slots, host figures). Built once, then updated
/// in place before each report: WAL positions, counters and rates move every time, slower figures
/// (sizes, table health) on their own cadence, as the real agent refreshes them. Not thread-safe: one
/// agent loop owns it.
/// </summary>
internal sealed class SnapshotModel
{
    private static readonly string[] Databases = ["app", "analytics", "postgres"];

    private static readonly (string Database, string Table, ulong Rows, ulong Bytes)[] Tables =
    [
        ("app", "public.orders", 48_000_000, 21_000_000_000),
        ("app", "public.order_items", 160_000_000, 38_000_000_000),
        ("app", "public.customers", 6_500_000, 3_200_000_000),
        ("app", "public.payments", 41_000_000, 12_500_000_000),
        ("app", "public.sessions", 2_400_000, 900_000_000),
        ("app", "public.inventory", 850_000, 310_000_000),
        ("analytics", "public.events", 420_000_000, 96_000_000_000),
        ("analytics", "public.daily_rollups", 3_100_000, 1_400_000_000),
        ("analytics", "public.funnels", 120_000, 64_000_000),
        ("postgres", "public.pgbench_accounts", 1_000_000, 134_000_000),
    ];

    private readonly NodeModel _node;
    private readonly ClusterModel _cluster;
    private readonly Random _random;
    private readonly NodeSnapshot _snapshot;
    private readonly double[] _commitShare;
    private readonly ulong _memoryTotal = 32UL << 30;
    private readonly ulong _diskTotal = 1UL << 40;
    private double _slowRefreshedAt = double.NegativeInfinity;
    private ulong _archivedSegment;
    private double _previousSeconds = double.NaN;

    public SnapshotModel(NodeModel node, TimeSpan interval)
    {
        _node = node;
        _cluster = node.Cluster;
        _random = new Random(node.Index * 7919 + 17);
        _commitShare = [0.8, 0.18, 0.02];
        _snapshot = Build(interval);
    }

    /// <summary>The hello of this agent process.</summary>
    public AgentHello Hello(string instanceId)
    {
        var hello = new AgentHello
        {
            Identity = _node.Identity,
            Role = _node.Role,
            AgentVersion = "bench-0.1.0",
            InstanceId = instanceId,
            ServerVersionNum = 170_002,
            ServerVersion = "17.2",
            SystemIdentifier = _cluster.SystemIdentifier,
            Timeline = 1,
            Tags = new NodeTags { NoFailover = false, CandidatePriority = _node.Ordinal == 1 ? 10 : 0 },
            AdvertiseHost = ClusterModel.AdvertiseHost(_node.Name),
            AdvertisePort = 5432,
        };
        hello.Capabilities.AddRange(["promote", "fence", "follow", "rejoin", "rewind", "verify_archive", "verify_archive_deep", "collect_now"]);
        return hello;
    }

    /// <summary>
    /// Moves the snapshot to now and stamps collected_at with <paramref name="collectedAt"/> (the
    /// latency probe: the watch reports it back). The returned message is reused by the next call.
    /// </summary>
    public NodeSnapshot Next(DateTime collectedAt)
    {
        var t = _cluster.Seconds;
        var dt = double.IsNaN(_previousSeconds) ? 0 : Math.Max(0.001, t - _previousSeconds);
        _previousSeconds = t;
        var s = _snapshot;
        s.CollectedAt = Timestamp.FromDateTime(collectedAt);
        s.CollectionSeconds = 0.008 + (_random.NextDouble() * 0.012);
        if (dt > 0)
        {
            s.RateIntervalSeconds = dt;
        }

        var lsn = _cluster.LsnAt(t);
        var now = collectedAt;
        if (s.Primary is { } primary)
        {
            primary.CurrentLsn = lsn;
            primary.InsertLsn = lsn + (ulong)_random.Next(0, 8192);
            primary.FlushLsn = lsn - Math.Min(lsn, (ulong)_random.Next(0, 8192));
            foreach (var standby in s.Standbys)
            {
                var behind = (ulong)(_cluster.WalBytesPerSecond * (0.002 + (_random.NextDouble() * 0.02)));
                standby.SentLsn = lsn;
                standby.WriteLsn = lsn - Math.Min(lsn, behind / 4);
                standby.FlushLsn = lsn - Math.Min(lsn, behind / 2);
                standby.ReplayLsn = lsn - Math.Min(lsn, behind);
                standby.LagBytes = lsn - standby.ReplayLsn;
                standby.WriteLagSeconds = 0.0004 + (_random.NextDouble() * 0.001);
                standby.FlushLagSeconds = standby.WriteLagSeconds + 0.0005;
                standby.ReplayLagSeconds = standby.FlushLagSeconds + (_random.NextDouble() * 0.02);
            }

            for (var i = 0; i < s.Slots.Count; i++)
            {
                var slot = s.Slots[i];
                slot.RestartLsn = i < s.Standbys.Count ? s.Standbys[i].ReplayLsn : lsn;
                slot.RetainedBytes = lsn - slot.RestartLsn;
            }
        }
        else if (s.Replica is { } replica)
        {
            replica.ReceiveLsn = _cluster.LsnAt(t - 0.003);
            replica.ReplayLsn = _cluster.LsnAt(t - 0.01 - (_random.NextDouble() * 0.02));
            replica.ReplayDelaySeconds = 0.01 + (_random.NextDouble() * 0.05);
            var receiver = replica.WalReceiver;
            receiver.LastMsgSendTime = Timestamp.FromDateTime(now.AddMilliseconds(-2 - _random.Next(0, 20)));
            receiver.LastMsgReceiptTime = Timestamp.FromDateTime(now.AddMilliseconds(-1));
        }

        UpdateArchiver(s, lsn, now);
        UpdateDatabases(s, t, dt, now);
        UpdateActivity(s, t);
        if (t - _slowRefreshedAt >= 60)
        {
            _slowRefreshedAt = t;
            UpdateSlowFigures(s, now);
        }

        return s;
    }

    private NodeSnapshot Build(TimeSpan interval)
    {
        var s = new NodeSnapshot
        {
            PostgresState = PostgresState.Up,
            ServerVersionNum = 170_002,
            ServerVersion = "17.2",
            Role = _node.Role,
            Timeline = 1,
            SystemIdentifier = _cluster.SystemIdentifier,
            RateIntervalSeconds = interval.TotalSeconds,
            Archiver = new NodeSnapshot.Types.Archiver { ArchiveMode = "on", ArchivedCount = (ulong)_random.Next(10_000, 900_000) },
            Connections = new NodeSnapshot.Types.Connections { MaxConnections = 400 },
            Checkpoints = new NodeSnapshot.Types.Checkpoints(),
            Bgwriter = new NodeSnapshot.Types.BgWriter(),
            Wraparound = new NodeSnapshot.Types.Wraparound { Database = "app" },
            TableHealth = new NodeSnapshot.Types.TableHealth(),
            Host = new NodeSnapshot.Types.Host { MemoryTotalBytes = _memoryTotal, DiskTotalBytes = _diskTotal },
        };
        if (_node.Ordinal == 0)
        {
            var replicas = _cluster.NodeNames.Skip(1).ToList();
            s.Primary = new NodeSnapshot.Types.Primary
            {
                SynchronousStandbyNames = _cluster.Synchronous ? $"ANY 1 ({string.Join(", ", replicas)})" : string.Empty,
            };
            for (var i = 0; i < replicas.Count; i++)
            {
                s.Standbys.Add(new NodeSnapshot.Types.Standby
                {
                    ApplicationName = replicas[i],
                    ClientAddr = $"192.0.2.{(_node.Index + i + 1) % 250 + 1}",
                    State = "streaming",
                    SyncState = _cluster.Synchronous ? "quorum" : "async",
                });
                s.Slots.Add(new NodeSnapshot.Types.ReplicationSlot
                {
                    SlotName = replicas[i].Replace('-', '_'),
                    SlotType = "physical",
                    Active = true,
                    WalStatus = "reserved",
                });
            }
        }
        else
        {
            s.Replica = new NodeSnapshot.Types.Replica
            {
                WalReceiver = new NodeSnapshot.Types.WalReceiver
                {
                    Status = "streaming",
                    SenderHost = ClusterModel.AdvertiseHost(_cluster.PrimaryName),
                    SenderPort = 5432,
                    SlotName = _node.Name.Replace('-', '_'),
                    ReceivedTimeline = 1,
                },
            };
        }

        foreach (var name in Databases)
        {
            s.Databases.Add(new NodeSnapshot.Types.Database { Name = name });
        }

        foreach (var (database, table, _, _) in Tables)
        {
            s.TableHealth.TopTables.Add(new NodeSnapshot.Types.TableStats { Database = database, Name = table });
        }

        return s;
    }

    private void UpdateArchiver(NodeSnapshot s, ulong lsn, DateTime now)
    {
        var archiver = s.Archiver;
        var segment = lsn / ClusterModel.SegmentSize;
        if (segment == _archivedSegment)
        {
            return;
        }

        // A segment completed since the last report (or this is the first): the previous one is archived now.
        if (_archivedSegment != 0)
        {
            archiver.ArchivedCount += segment - _archivedSegment;
        }

        _archivedSegment = segment;
        var last = segment - 1;
        archiver.LastArchivedWal = string.Create(CultureInfo.InvariantCulture, $"{1:X8}{last / 256:X8}{last % 256:X8}");
        archiver.LastArchivedTime = Timestamp.FromDateTime(now);
    }

    private void UpdateDatabases(NodeSnapshot s, double t, double dt, DateTime now)
    {
        var primary = _node.Ordinal == 0;
        for (var i = 0; i < s.Databases.Count; i++)
        {
            var db = s.Databases[i];
            var rate = _cluster.CommitsPerSecond * _commitShare[i] * (primary ? 1 : 0.05) * (0.85 + (_random.NextDouble() * 0.3));
            var commits = (ulong)Math.Max(1, rate * Math.Max(dt, 0.001));
            db.Commits += commits;
            db.Rollbacks += (ulong)(commits / 200);
            var reads = 40 * commits;
            var misses = (ulong)(reads * (0.001 + (_random.NextDouble() * 0.004)));
            db.BlksHit += reads - misses;
            db.BlksRead += misses;
            db.HitRatio = (double)db.BlksHit / Math.Max(1, db.BlksHit + db.BlksRead);
            db.TempFiles += (ulong)(_random.NextDouble() < 0.01 ? 1 : 0);
            db.TempBytes += db.TempFiles > 0 && _random.NextDouble() < 0.01 ? 8UL << 20 : 0;
            if (dt > 0)
            {
                db.IntervalHitRatio = (double)(reads - misses) / Math.Max(1, reads);
                db.CommitsPerSecond = commits / dt;
                db.RollbacksPerSecond = (commits / 200) / dt;
                db.DeadlocksPerHour = 0;
                db.TempBytesPerSecond = 0;
            }

            if (!db.HasSizeBytes || t - _slowRefreshedAt >= 60)
            {
                db.SizeBytes = (ulong)((i == 2 ? 8e6 : 2e10 + (_random.NextDouble() * 2e10)) + (t * 1024));
                db.SizeAsOf = Timestamp.FromDateTime(now);
            }
        }
    }

    private void UpdateActivity(NodeSnapshot s, double t)
    {
        var c = s.Connections;
        c.Active = (uint)_random.Next(2, 30);
        c.Idle = (uint)_random.Next(20, 120);
        c.IdleInTransaction = (uint)_random.Next(0, 3);
        c.IdleInTransactionAborted = 0;
        c.Waiting = (uint)_random.Next(0, 2);
        c.WaitingLocks = c.Waiting;
        c.Total = c.Active + c.Idle + c.IdleInTransaction;
        c.LongestTransactionSeconds = 0.05 + (_random.NextDouble() * 3);
        if (c.IdleInTransaction > 0)
        {
            c.LongestIdleInTransactionSeconds = _random.NextDouble() * 2;
        }
        else
        {
            c.ClearLongestIdleInTransactionSeconds();
        }

        var cp = s.Checkpoints;
        cp.Timed = 1000 + (ulong)(t / 300);
        cp.Requested = 12;
        cp.WriteTimeMs = 1.2e7 + (t * 40);
        cp.SyncTimeMs = 4.1e4 + t;
        cp.BuffersWritten = 9_000_000 + (ulong)(t * 120);
        var bg = s.Bgwriter;
        bg.BuffersClean = 2_000_000 + (ulong)(t * 30);
        bg.MaxwrittenClean = 1500;
        bg.BuffersAlloc = 80_000_000 + (ulong)(t * 900);
        var w = s.Wraparound;
        w.MaxDatfrozenxidAge = _cluster.BaseXidAge + (ulong)(t * _cluster.CommitsPerSecond);
        w.PercentTowardsWraparound = w.MaxDatfrozenxidAge * 100.0 / 2_147_483_648.0;
        var host = s.Host;
        host.CpuPercent = 8 + (_random.NextDouble() * 40);
        host.MemoryUsedBytes = (ulong)(_memoryTotal * (0.45 + (_random.NextDouble() * 0.1)));
        host.DiskUsedBytes = (ulong)(_diskTotal * 0.42) + (ulong)(t * 4096);
    }

    private void UpdateSlowFigures(NodeSnapshot s, DateTime now)
    {
        var health = s.TableHealth;
        health.AsOf = Timestamp.FromDateTime(now);
        for (var i = 0; i < Tables.Length; i++)
        {
            var (_, _, rows, bytes) = Tables[i];
            var table = health.TopTables[i];
            var dead = (ulong)(rows * (0.002 + (_random.NextDouble() * 0.04)));
            table.LiveTuples = rows;
            table.DeadTuples = dead;
            table.DeadRatio = (double)dead / (rows + dead);
            table.TotalBytes = bytes;
            table.EstimatedBloatBytes = (ulong)(bytes * (0.02 + (_random.NextDouble() * 0.1)));
            table.EstimatedBloatRatio = (double)table.EstimatedBloatBytes / bytes;
        }
    }
}
