using Fleet.Agent.Actions;
using Fleet.Agent.Collection;
using Fleet.Agent.Tests.Host;
using Fleet.LocalFleet.Postgres;
using Fleet.Protos.V1;
using Fleet.Testing.Storage;
using Npgsql;

namespace Fleet.Agent.Tests.Actions;

/// <summary>
/// Storage stalls for real: an ext4 filesystem on a loop device frozen with fsfreeze, so every write and fsync
/// on it waits in the kernel while reads go on (docs/failover.md, "What each silent fault does").
/// </summary>
public sealed class StorageStallTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public void FilesFor_ProbesPgWalOnlyWhenItIsALinkToAnotherPlace()
    {
        var root = Directory.CreateTempSubdirectory("fleet-storage-probe-").FullName;
        try
        {
            var plain = Directory.CreateDirectory(Path.Combine(root, "plain")).FullName;
            Directory.CreateDirectory(Path.Combine(plain, "pg_wal"));
            var linked = Directory.CreateDirectory(Path.Combine(root, "linked")).FullName;
            var walVolume = Directory.CreateDirectory(Path.Combine(root, "wal-volume")).FullName;
            Directory.CreateSymbolicLink(Path.Combine(linked, "pg_wal"), walVolume);

            Assert.Equal([Path.Combine(plain, StorageProbe.FileName)], StorageProbe.FilesFor(plain));
            Assert.Equal([Path.Combine(linked, StorageProbe.FileName), Path.Combine(linked, "pg_wal", StorageProbe.FileName)], StorageProbe.FilesFor(linked));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task Probe_FrozenFilesystem_OneWriteStaysOutstanding_CountsAsAStall_ThenWrittenOnThaw()
    {
        using var filesystem = StallableFilesystem.Create(megabytes: 64);
        var directory = Directory.CreateDirectory(Path.Combine(filesystem.MountPoint, "data")).FullName;
        var probe = new StorageProbe(StorageProbe.FilesFor(directory), TimeProvider.System);
        var health = new StorageHealth(TimeProvider.System) { StallTimeout = TimeSpan.FromSeconds(1) };
        Assert.Equal(StorageOutcome.Written, await probe.ProbeAsync(Bound, CancellationToken.None));
        Assert.Null(probe.OutstandingSince);
        // pg_rewind, run as the server's OS user, overwrites every file of the data directory: an agent running as
        // another user must not leave one it cannot write (a rejoin failed on exactly that).
        Assert.True(OperatingSystem.IsLinux() && File.GetUnixFileMode(probe.Files[0]).HasFlag(UnixFileMode.OtherWrite), "the probe file must stay writable by the server's user");

        filesystem.Freeze();
        try
        {
            Assert.Equal(StorageOutcome.Pending, await probe.ProbeAsync(TimeSpan.FromMilliseconds(300), CancellationToken.None));
            var since = probe.OutstandingSince;
            Assert.NotNull(since);
            var deadline = DateTime.UtcNow + Bound;
            while (health.StalledFor() == TimeSpan.Zero && DateTime.UtcNow < deadline)
            {
                Assert.Equal(StorageOutcome.Pending, await probe.ProbeAsync(TimeSpan.FromMilliseconds(200), CancellationToken.None));
                health.Record(probe.OutstandingSince, probe.CurrentFile);
            }

            Assert.True(health.StalledFor() >= TimeSpan.FromSeconds(1), "a write outstanding past the stall timeout is a stall");
            Assert.Equal(since, probe.OutstandingSince); // the same write waited on again, never a second one
            Assert.Equal(Path.Combine(directory, StorageProbe.FileName), health.Path);
        }
        finally
        {
            filesystem.Thaw();
        }

        Assert.Equal(StorageOutcome.Written, await probe.ProbeAsync(Bound, CancellationToken.None));
        health.Record(probe.OutstandingSince, probe.CurrentFile);
        Assert.Equal(TimeSpan.Zero, health.StalledFor());
    }

    [Fact]
    public async Task Agent_PrimaryWalOnFrozenFilesystem_ReportsUnresponsiveWhileReadsStillAnswer_UpAgainOnThaw()
    {
        using var filesystem = StallableFilesystem.Create();
        await using var cluster = await LocalPostgresCluster.StartAsync(new PostgresClusterOptions
        {
            ReplicaCount = 0,
            ArchiveEnabled = false,
            PrimaryWalDirectory = Path.Combine(filesystem.MountPoint, "wal"),
        }).WaitAsync(TimeSpan.FromMinutes(2));
        var primary = cluster.Primary;
        var settings = RunningAgent.SettingsFor(primary, TimeSpan.FromMilliseconds(500));
        settings["Postgres:StorageStallTimeout"] = "00:00:01";
        await using var agent = await RunningAgent.StartAsync(settings);
        await Eventually.ReturnsAsync(() => Task.FromResult(agent.Board.Current), s => s is { PostgresState: PostgresState.Up }, Bound, "the primary reported up");
        await using var reader = await primary.OpenConnectionAsync();
        await using var writer = await primary.OpenConnectionAsync();
        await ExecuteAsync(writer, "CREATE TABLE stall_probe (id int)");

        filesystem.Freeze();
        Task insert;
        try
        {
            insert = ExecuteAsync(writer, "INSERT INTO stall_probe VALUES (1)");
            var stalled = await Eventually.ReturnsAsync(() => Task.FromResult(agent.Board.Current), s => s is { PostgresState: PostgresState.Unresponsive }, Bound,
                "the primary reported unresponsive for its stalled WAL volume");
            Assert.Contains($"has not completed a write to {Path.Combine(primary.DataDirectory, "pg_wal", StorageProbe.FileName)}", stalled!.PostgresError, StringComparison.Ordinal);
            Assert.Equal(NodeRole.Primary, stalled.Role);
            Assert.True(stalled.PostgresUnansweredMs >= 1000, $"unanswered {stalled.PostgresUnansweredMs} ms");

            // What the ping sees meanwhile: reads answer. Only the write probe can tell.
            await using (var select = new NpgsqlCommand("SELECT 1", reader))
            {
                Assert.Equal(1, await select.ExecuteScalarAsync().WaitAsync(Bound));
            }

            Assert.False(insert.IsCompleted, "a commit must wait on the frozen WAL volume");
            await Eventually.ReturnsAsync(() => Task.FromResult(agent.Logs.Entries.Any(e => e.EventId.Id == 5018)), logged => logged, Bound, "the stall logged (5018)");
        }
        finally
        {
            filesystem.Thaw();
        }

        await insert.WaitAsync(Bound);
        await Eventually.ReturnsAsync(() => Task.FromResult(agent.Board.Current), s => s is { PostgresState: PostgresState.Up }, Bound, "the primary up again after the thaw");
        await Eventually.ReturnsAsync(() => Task.FromResult(agent.Logs.Entries.Any(e => e.EventId.Id == 5019)), logged => logged, Bound, "the end of the stall logged (5019)");
        // Standalone (no lease, no replica): reported, never killed.
        Assert.True(primary.IsRunning);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
