using System.Buffers.Binary;
using System.Text;
using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Agent.Tests.Archive;
using Fleet.Agent.Tests.Collection;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Fleet.Testing.Postgres;
using Npgsql;
using Xunit.Abstractions;

namespace Fleet.Agent.Tests.Versions;

/// <summary>
/// Every supported major on a real primary + streaming replica: one full collection on each node before and
/// after a small write load, the figures that moved between versions checked per version, and that major's
/// own WAL archive verified intact and then with one flipped bit. Binaries: scripts/fetch-postgres.sh
/// (13, 14, 16, 17, 18) and Debian's 15.
/// </summary>
[Trait("Postgres", "Matrix")]
public sealed class PostgresVersionMatrixTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan Condition = TimeSpan.FromSeconds(20);
    private const int Rows = 2000;

    [Theory]
    [PostgresMajor(13)]
    [PostgresMajor(14)]
    [PostgresMajor(15)]
    [PostgresMajor(16)]
    [PostgresMajor(17)]
    [PostgresMajor(18)]
    public async Task CollectAndVerifyArchive_Major_EveryFigureOfThatVersion(int major)
    {
        var installation = await PostgresInstallation.ForMajorAsync(major).WaitAsync(StartTimeout);
        await using var cluster = await LocalPostgresCluster.StartAsync(
            new PostgresClusterOptions { ReplicaCount = 1, BinDirectory = installation.BinDirectory, StartTimeout = StartTimeout, Log = output.WriteLine });
        var primary = cluster.Primary;
        var replica = cluster.Replicas[0];
        await using var onPrimary = TestCollector.Create(primary);
        await using var onReplica = TestCollector.Create(replica);
        var primaryBefore = await onPrimary.CollectAsync();
        var replicaBefore = await onReplica.CollectAsync();

        // The write load: rows, a requested checkpoint, a marker message to damage later, a WAL switch.
        await Sql.ExecuteAsync(primary, "CREATE TABLE matrix (id int, payload text)");
        await InsertRowsAsync(primary);
        await Sql.ExecuteAsync(primary, "CHECKPOINT");
        var marker = await EmitMarkerAsync(primary);
        var segment = await cluster.SwitchWalAsync();
        await cluster.WaitForArchivedAsync(segment, Condition);
        await cluster.WaitForReplicaCatchUpAsync(Condition);
        var target = await Sql.LsnAsync(primary, "pg_current_wal_lsn()");

        // Statistics reach the views asynchronously (a backend flushes at exit, the archiver after .done): wait on the figures.
        var primaryAfter = await CollectUntilAsync(onPrimary, s =>
            s.Archiver.LastArchivedWal == segment &&
            s.Checkpoints.Requested > primaryBefore.Checkpoints.Requested &&
            s.Standbys.Any(standby => standby.ReplayLsn >= target) &&
            s.Databases.Any(d => d.Name == "postgres" && d.TupInserted >= primaryBefore.Databases.Single(b => b.Name == "postgres").TupInserted + Rows) &&
            // Rates come from two samples whose counters did not go back (RateCalculator.WasReset: a decrease or a
            // reset gives no rate for that interval, by design). One CI run on PostgreSQL 14 got a collection
            // without rates here, cause not established; the test waits for a collection with rates instead of
            // asserting on the first one (a collector that never gives rates still fails it).
            s.Databases.Any(d => d.Name == "postgres" && d.HasCommitsPerSecond),
            $"PostgreSQL {major} primary: {segment} archived, a requested checkpoint, node1 replayed to {target}, {Rows} inserts counted");
        var replicaAfter = await CollectUntilAsync(onReplica, s => s.Replica.ReplayLsn >= target, $"PostgreSQL {major} replica at {target}");

        AssertServer(primaryAfter, major, NodeRole.Primary);
        AssertServer(replicaAfter, major, NodeRole.Replica);

        // LSNs advance under the load.
        Assert.True(primaryAfter.Primary.CurrentLsn > primaryBefore.Primary.CurrentLsn);
        Assert.InRange(primaryAfter.Primary.FlushLsn, target, primaryAfter.Primary.InsertLsn);
        Assert.True(replicaAfter.Replica.ReplayLsn > replicaBefore.Replica.ReplayLsn);
        Assert.InRange(replicaAfter.Replica.ReplayLsn, target, replicaAfter.Replica.ReceiveLsn);
        Assert.True(replicaAfter.Replica.HasReplayDelaySeconds);
        Assert.False(replicaAfter.Replica.ReplayPaused);

        // Replication as each side sees it.
        var standby = Assert.Single(primaryAfter.Standbys);
        Assert.Equal(("node1", "streaming", "async"), (standby.ApplicationName, standby.State, standby.SyncState));
        Assert.Equal("127.0.0.1", standby.ClientAddr);
        Assert.InRange(standby.ReplayLsn, target, standby.SentLsn);
        Assert.InRange(standby.LagBytes, 0UL, primaryAfter.Primary.CurrentLsn - target);
        Assert.Equal(("streaming", "node1", 1U), (replicaAfter.Replica.WalReceiver.Status, replicaAfter.Replica.WalReceiver.SlotName, replicaAfter.Replica.WalReceiver.ReceivedTimeline));
        Assert.Equal((uint)primary.Port, replicaAfter.Replica.WalReceiver.SenderPort);
        Assert.Empty(replicaAfter.Standbys);

        // Slots: the replica's physical slot on the primary; none on the replica.
        var slot = Assert.Single(primaryAfter.Slots);
        Assert.Equal(("node1", "physical", true, "reserved"), (slot.SlotName, slot.SlotType, slot.Active, slot.WalStatus));
        Assert.True(slot.HasRetainedBytes);
        Assert.InRange(slot.RestartLsn, 1UL, primaryAfter.Primary.CurrentLsn);
        Assert.Empty(replicaAfter.Slots);

        // Archiver: the primary archives, the replica (archive_mode on, not always) does not.
        Assert.Equal("on", primaryAfter.Archiver.ArchiveMode);
        Assert.True(primaryAfter.Archiver.ArchivedCount > primaryBefore.Archiver.ArchivedCount);
        Assert.NotNull(primaryAfter.Archiver.LastArchivedTime);
        Assert.Equal(0UL, primaryAfter.Archiver.FailedCount);
        Assert.Equal("on", replicaAfter.Archiver.ArchiveMode);
        Assert.Equal(0UL, replicaAfter.Archiver.ArchivedCount);

        // Checkpoints: pg_stat_bgwriter before 17, pg_stat_checkpointer from 17 (buffers_backend gone), num_done from 18.
        Assert.True(primaryAfter.Checkpoints.BuffersWritten > 0);
        Assert.Equal(major >= 18, primaryAfter.Checkpoints.HasDone);
        Assert.True(!primaryAfter.Checkpoints.HasDone || primaryAfter.Checkpoints.Done > primaryBefore.Checkpoints.Done);
        Assert.NotNull(primaryAfter.Checkpoints.StatsReset);
        Assert.True(primaryAfter.Bgwriter.BuffersAlloc > 0);
        Assert.Equal(major < 17, primaryAfter.Bgwriter.HasBuffersBackend);
        Assert.Equal(major < 17, primaryAfter.Bgwriter.HasBuffersBackendFsync);

        // Per-database statistics, with the columns each version added.
        foreach (var snapshot in new[] { primaryAfter, replicaAfter })
        {
            var postgres = Assert.Single(snapshot.Databases, d => d.Name == "postgres");
            Assert.True(postgres.Commits > 0);
            Assert.True(postgres.BlksHit > 0);
            Assert.True(postgres.HasHitRatio);
            Assert.True(postgres.HasChecksumFailures);
            Assert.Equal(major >= 14, postgres.HasSessionTimeMs);
            Assert.Equal(major >= 14, postgres.HasSessions);
            Assert.Equal(major >= 16, postgres.HasConflictsActiveLogicalslot);
            Assert.DoesNotContain(snapshot.Databases, d => d.Name.StartsWith("template", StringComparison.Ordinal));
            Assert.False(string.IsNullOrEmpty(snapshot.Wraparound.Database));
        }

        // The slow refresh (first cycle): settings, sizes, the table report.
        foreach (var snapshot in new[] { primaryAfter, replicaAfter })
        {
            Assert.Contains(snapshot.Settings.Items, setting => setting.Name == "shared_buffers" && setting.Value == 16 * 1024 * 1024 && setting.Unit == "bytes");
            Assert.True(snapshot.Databases.Single(d => d.Name == "postgres").SizeBytes > 1_000_000);
            Assert.NotNull(snapshot.TableHealth.AsOf);
        }

        Assert.True(primaryAfter.HasRateIntervalSeconds);
        var postgresRates = primaryAfter.Databases.Single(d => d.Name == "postgres");
        Assert.True(postgresRates.HasCommitsPerSecond);
        Assert.True(postgresRates.TupInserted >= Rows);

        // Connections: the collector's own session at least.
        foreach (var snapshot in new[] { primaryAfter, replicaAfter })
        {
            Assert.Equal(40U, snapshot.Connections.MaxConnections);
            Assert.InRange(snapshot.Connections.Total, 1U, 40U);
            Assert.True(snapshot.Connections.Active >= 1);
            Assert.Contains(snapshot.Databases.Single(d => d.Name == "postgres").ConnectionsByState, c => c.State == "active");
        }

        await VerifyArchiveAsync(cluster, major, marker);
    }

    private static void AssertServer(NodeSnapshot snapshot, int major, NodeRole role)
    {
        Assert.Equal(PostgresState.Up, snapshot.PostgresState);
        Assert.Empty(snapshot.CollectionErrors);
        Assert.Equal((uint)major, snapshot.ServerVersionNum / 10000);
        Assert.StartsWith($"{major}.", snapshot.ServerVersion, StringComparison.Ordinal);
        Assert.Equal(role, snapshot.Role);
        Assert.Equal(1U, snapshot.Timeline);
        Assert.NotEqual(0UL, snapshot.SystemIdentifier);
        Assert.Equal(role == NodeRole.Primary, snapshot.Primary is not null);
        Assert.Equal(role == NodeRole.Replica, snapshot.Replica is not null);
    }

    /// <summary>That major's archive passes a deep verification; a flipped bit inside the marker message fails it.</summary>
    private async Task VerifyArchiveAsync(LocalPostgresCluster cluster, int major, byte[] marker)
    {
        NodeView node;
        await using (var connection = await cluster.Primary.OpenConnectionAsync())
        {
            node = await NodeViewProbe.QueryAsync(connection, CancellationToken.None);
        }

        Assert.Equal(major, node.MajorVersion);
        using var archive = new ArchiveCopy(cluster.ArchiveDirectory);
        // The page magic of this major (REFERENCE: XLOG_PAGE_MAGIC), as the server wrote it.
        var first = Directory.GetFiles(archive.Directory, "000000010000000000000001").Single();
        Assert.Equal(WalFormat.MagicForMajor(major), BinaryPrimitives.ReadUInt16LittleEndian(File.ReadAllBytes(first).AsSpan(0, 2)));
        var intact = (await archive.VerifyAsync(node, deep: true)).Status;
        Dump($"PostgreSQL {major} intact", intact);
        Assert.Equal(ArchiveVerdict.Ok, intact.Verdict);
        Assert.DoesNotContain(intact.Findings, f => f.Severity == Severity.Critical);
        Assert.True(intact.SegmentsVerified >= 2);

        var damaged = FlipBitInsideMarker(archive, marker);
        var status = (await archive.VerifyAsync(node, deep: true)).Status;
        Dump($"PostgreSQL {major} with a bit flipped in {damaged}", status);
        Assert.Equal(ArchiveVerdict.Failure, status.Verdict);
        Assert.Equal((FindingCodes.RecordCrcMismatch, damaged), (status.FirstProblem.Code, status.FirstProblem.Subject));
    }

    private static async Task InsertRowsAsync(IPostgresNode primary)
    {
        await using var connection = await primary.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("INSERT INTO matrix SELECT g, md5(g::text) FROM generate_series(1, $1) g", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = Rows });
        Assert.Equal(Rows, await command.ExecuteNonQueryAsync());
    }

    /// <summary>A non-transactional logical message whose payload is unique: found again in the archived segment by its bytes.</summary>
    private static async Task<byte[]> EmitMarkerAsync(IPostgresNode primary)
    {
        var payload = $"fleet-matrix-{Guid.NewGuid():N}-{Guid.NewGuid():N}";
        await using var connection = await primary.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT pg_logical_emit_message(false, 'fleet-matrix', $1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = payload });
        await command.ExecuteNonQueryAsync();
        return Encoding.ASCII.GetBytes(payload);
    }

    private static string FlipBitInsideMarker(ArchiveCopy archive, byte[] marker)
    {
        foreach (var path in Directory.GetFiles(archive.Directory).Order(StringComparer.Ordinal))
        {
            var bytes = File.ReadAllBytes(path);
            var at = bytes.AsSpan().IndexOf(marker);
            if (at >= 0)
            {
                bytes[at + (marker.Length / 2)] ^= 0x10;
                File.WriteAllBytes(path, bytes);
                return Path.GetFileName(path);
            }
        }

        throw new InvalidOperationException("The marker message is in no archived segment.");
    }

    private static async Task<NodeSnapshot> CollectUntilAsync(TestCollector collector, Func<NodeSnapshot, bool> done, string description)
    {
        NodeSnapshot? last = null;
        try
        {
            await Polling.UntilAsync(async _ => done(last = await collector.CollectAsync()), Condition, description);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message} Last snapshot: {last}", e);
        }

        return last!;
    }

    private void Dump(string title, ArchiveStatus status)
    {
        output.WriteLine($"{title}: {status.Verdict}, {status.SegmentsVerified} segments, last {status.LastArchivedSegment}");
        foreach (var f in status.Findings)
        {
            output.WriteLine($"  {f.Severity} {f.Code} [{f.Subject}] {f.Message}");
        }
    }
}
