using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Agent.Tests.Archive;

/// <summary>Base backups checked with pg_verifybackup, the persisted cache, the periodic loop and the option checks.</summary>
[Collection(ArchiveClusterGroup.Name)]
public sealed class HostingTests(ArchiveClusterFixture fixture)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task BaseBackupDirectory_IntactBackupVerified_DamagedOneInvalid()
    {
        using var backups = new TempDirectory();
        CopyDirectory(fixture.BaseBackup, Path.Combine(backups.Path, "base1"));
        CopyDirectory(fixture.BaseBackup, Path.Combine(backups.Path, "base2-damaged"));
        var victim = Directory.GetFiles(Path.Combine(backups.Path, "base2-damaged", "global")).First(f => new FileInfo(f).Length > 0 && !f.EndsWith("pg_control", StringComparison.Ordinal));
        await File.AppendAllTextAsync(victim, "garbage");
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var source = new BaseBackupDirectory(backups.Path, fixture.A.BinDirectory, Timeout, waitForChecks: true);

        var status = (await archive.VerifyAsync(fixture.NodeA, baseBackups: source)).Status;

        Assert.Equal(ArchiveVerdict.Failure, status.Verdict);
        var critical = Assert.Single(status.Findings, f => f.Severity == Severity.Critical);
        Assert.Equal((FindingCodes.BaseBackupInvalid, "base2-damaged"), (critical.Code, critical.Subject));
        Assert.Contains(Path.GetFileName(victim), critical.Message, StringComparison.Ordinal);
        Assert.Contains(status.NewestBaseBackup.Name, new[] { "base1", "base2-damaged" });
        Assert.Equal("base1", status.OldestBaseBackup.Name);
        Assert.Equal(1u, status.OldestBaseBackup.Timeline);
        Assert.DoesNotContain(status.Findings, f => f.Subject == "base1");
    }

    [Fact]
    public async Task CacheFile_PersistedCleanResults_RestartedVerifierReadsNoSegment()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        using var state = new TempDirectory();
        var file = Path.Combine(state.Path, "archive-cache.tsv");
        var first = new SegmentCache();
        await archive.VerifyAsync(fixture.NodeA, cache: first);
        first.Save(file);

        var restarted = new SegmentCache();
        var loaded = restarted.Load(file);
        var reader = new CountingArchiveReader(new DirectoryArchiveReader(archive.Directory));
        var outcome = await archive.VerifyAsync(fixture.NodeA, cache: restarted, reader: reader);

        Assert.Equal(first.Count, loaded);
        Assert.Equal(ArchiveVerdict.Ok, outcome.Status.Verdict);
        Assert.DoesNotContain(reader.Names, n => n.Length == 24 || n.EndsWith(".partial", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Loop_FirstRunAtStart_PublishesToBoard()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var board = new ArchiveStatusBoard();
        var agent = new AgentOptions
        {
            Node = new NodeOptions { Name = "n", Cluster = "c", Region = "kr-central" },
            Archive = new ArchiveOptions { Location = archive.Directory, Region = "kr-central" },
        };
        var service = new ArchiveVerificationService(
            agent, new ArchiveVerificationOptions(), _ => Task.FromResult(fixture.NodeA), board, TimeProvider.System, NullLogger.Instance, waitForBackupChecks: true);
        using var loop = new ArchiveVerificationLoop(service, TimeProvider.System, NullLogger<ArchiveVerificationLoop>.Instance);

        await loop.StartAsync(CancellationToken.None);
        try
        {
            await Fleet.LocalFleet.Postgres.Polling.UntilAsync(_ => Task.FromResult(board.Latest.Sequence > 0), Timeout, "the first verification");
        }
        finally
        {
            await loop.StopAsync(CancellationToken.None).WaitAsync(Timeout);
        }

        Assert.Equal(ArchiveVerdict.Ok, board.Current!.Verdict);
        Assert.False(board.Current.Deep);
    }

    [Fact]
    public async Task Command_VerifyArchiveNow_AnswersWithTheStatus_OrFailedWithoutArchive()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var agent = new AgentOptions
        {
            Node = new NodeOptions { Name = "n", Cluster = "c", Region = "kr-central" },
            Archive = new ArchiveOptions { Location = archive.Directory, Region = "kr-central" },
        };
        var service = new ArchiveVerificationService(
            agent, new ArchiveVerificationOptions(), _ => Task.FromResult(fixture.NodeA), new ArchiveStatusBoard(), TimeProvider.System, NullLogger.Instance, waitForBackupChecks: true);
        var command = new AggregatorCommand { CommandId = "c1", VerifyArchiveNow = new VerifyArchiveNowCommand { Deep = true } };

        var answered = await ArchiveCommand.VerifyAsync(service, command, new CommandResult(), CancellationToken.None).WaitAsync(Timeout);
        var unconfigured = await ArchiveCommand.VerifyAsync(null, command, new CommandResult(), CancellationToken.None);

        Assert.Equal(CommandOutcome.Succeeded, answered.Outcome);
        Assert.Equal(ArchiveVerdict.Ok, answered.Archive.Verdict);
        Assert.True(answered.Archive.Deep);
        Assert.Same(answered.Archive, service.Board.Current);
        Assert.Equal(CommandOutcome.Failed, unconfigured.Outcome);
    }

    public static TheoryData<string, string, string> BadOptions => new()
    {
        { "VerifyInterval", "00:00:00", "Archive:VerifyInterval" },
        { "DeepVerifyInterval", "00:00:10", "Archive:DeepVerifyInterval" },
        { "Parallelism", "0", "Archive:Parallelism" },
        { "VerifyFrom", "yesterday", "Archive:VerifyFrom" },
        { "AcknowledgedMissing:0", "000000010000000000000009-000000010000000000000002", "Archive:AcknowledgedMissing:0" },
        { "BaseBackupDirectory", "relative/dir", "Archive:BaseBackupDirectory" },
        { "Location", "s3://bucket/wal", "Archive:Location" },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task Options_BadValue_UsageErrorNamingTheKey(string key, string value, string named)
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var settings = new Dictionary<string, string?>
        {
            ["Node:Region"] = "kr-central",
            ["Archive:Location"] = archive.Directory,
            ["Archive:Region"] = "kr-central",
            [$"Archive:{key}"] = value,
            ["Postgres:Host"] = "/nonexistent-socket-dir",
        };
        var error = new StringWriter();

        var exit = await VerifyArchiveCommand.RunAsync([], TextWriter.Null, error, settings).WaitAsync(Timeout);

        Assert.Equal(VerifyArchiveCommand.ExitUsage, exit);
        Assert.Contains(named, error.ToString(), StringComparison.Ordinal);
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var directory in Directory.GetDirectories(from))
        {
            CopyDirectory(directory, Path.Combine(to, Path.GetFileName(directory)));
        }
    }
}
