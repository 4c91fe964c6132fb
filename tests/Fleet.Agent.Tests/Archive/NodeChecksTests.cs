using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Archive;

/// <summary>Archiver health, lag, RPO exposure, region and base backups: facts in, findings out.</summary>
public sealed class NodeChecksTests
{
    private const ulong Size = 16 * 1024 * 1024;
    private static readonly DateTimeOffset Now = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ArchiveSettings Settings = new() { NodeRegion = "kr-central", ArchiveRegion = "kr-central" };

    public static TheoryData<DateTimeOffset?, DateTimeOffset?, ulong, ulong?, Severity?> ArchiverCases => new()
    {
        // last success, last failure, failed_count, previous failed_count, expected
        { Now.AddMinutes(-1), null, 0, 0, null },
        { Now.AddMinutes(-5), Now.AddMinutes(-1), 3, 0, Severity.Critical },
        { null, Now.AddMinutes(-1), 1, null, Severity.Critical },
        { Now.AddMinutes(-1), Now.AddMinutes(-5), 4, 2, Severity.Warning },
        { Now.AddMinutes(-1), Now.AddMinutes(-5), 4, 4, null },
        { Now.AddMinutes(-1), Now.AddMinutes(-5), 4, null, null },
    };

    [Theory]
    [MemberData(nameof(ArchiverCases))]
    public void Archiver_FailingNowOrFailuresGrowing(DateTimeOffset? success, DateTimeOffset? failure, ulong failed, ulong? previous, Severity? expected)
    {
        var node = Primary() with { Archiver = new ArchiverStats(10, "00000001000000000000000A", success, failed, "00000001000000000000000B", failure) };
        var findings = new FindingList();

        NodeChecks.Archiver(node, previous, findings);

        var all = findings.Ordered();
        if (expected is null)
        {
            Assert.Empty(all);
        }
        else
        {
            var finding = Assert.Single(all);
            Assert.Equal((expected.Value, FindingCodes.ArchiveCommandFailing, "00000001000000000000000B"), (finding.Severity, finding.Code, finding.Subject));
        }
    }

    [Fact]
    public void Archiver_ReplicaWithArchiveModeOn_NotItsJob()
    {
        var node = Primary() with { Role = NodeRole.Replica, Archiver = new ArchiverStats(0, null, null, 5, "x", Now) };
        var findings = new FindingList();

        NodeChecks.Archiver(node, 0, findings);

        Assert.Equal(0, findings.Count);
    }

    [Fact]
    public void Lag_SegmentsAndBytesPastLastArchived()
    {
        var node = Primary() with { CurrentLsn = (20 * Size) + 100 };
        var findings = new FindingList();

        var result = NodeChecks.Lag(node, Last(10, Now.AddSeconds(-30)), Size, Settings, Now, findings);

        Assert.Equal(9UL, result.LagSegments);
        Assert.Equal((9 * Size) + 100, result.LagBytes);
        Assert.Equal(30, result.RpoExposureSeconds);
        Assert.Equal(FindingCodes.ArchiveLag, Assert.Single(findings.Ordered()).Code);
    }

    [Fact]
    public void Rpo_OldSegmentWithWalWritten_Warning_IdleServer_None()
    {
        var busy = new FindingList();
        var idle = new FindingList();

        NodeChecks.Lag(Primary() with { CurrentLsn = (11 * Size) + 4096 }, Last(10, Now.AddMinutes(-6)), Size, Settings, Now, busy);
        var result = NodeChecks.Lag(Primary() with { CurrentLsn = 11 * Size }, Last(10, Now.AddMinutes(-60)), Size, Settings, Now, idle);

        Assert.Equal((Severity.Warning, FindingCodes.RpoExposureHigh), (Assert.Single(busy.Ordered()).Severity, busy.Ordered()[0].Code));
        Assert.Equal(0, idle.Count);
        Assert.Equal(3600, result.RpoExposureSeconds);
    }

    [Theory]
    [InlineData("kr-central", null)]
    [InlineData("KR-Central", null)]
    [InlineData("eu-west", FindingCodes.ArchiveOutOfRegion)]
    [InlineData("", FindingCodes.ArchiveRegionUnset)]
    public void Region_ArchiveAgainstNode(string archiveRegion, string? code)
    {
        var findings = new FindingList();

        NodeChecks.Region(Settings with { ArchiveRegion = archiveRegion }, "/archive", findings);

        Assert.Equal(code, findings.Ordered().SingleOrDefault()?.Code);
    }

    [Fact]
    public void BaseBackups_NewestTooOld_Stale_OldestStartsContinuity()
    {
        var labels = new[]
        {
            Label("000000010000000000000005.00000028.backup", 0x5000028, Now.AddDays(-9)),
            Label("00000001000000000000000C.00000060.backup", 0xC000060, Now.AddDays(-8)),
        };
        var findings = new FindingList();

        var result = BaseBackupAssessment.Assess(labels, null, Size, Settings, Now, findings);

        Assert.Equal(0x5000028UL, result.ContinuityStart);
        Assert.Equal("00000001000000000000000C.00000060.backup", result.Newest!.Name);
        Assert.Equal("000000010000000000000005", result.Oldest!.StartSegment);
        Assert.Equal(TimeSpan.FromDays(8).TotalSeconds, result.NewestAgeSeconds);
        var finding = Assert.Single(findings.Ordered());
        Assert.Equal((Severity.Warning, FindingCodes.BaseBackupStale), (finding.Severity, finding.Code));
    }

    [Fact]
    public void BaseBackups_None_Warning_VerifyFromOverrides()
    {
        var findings = new FindingList();

        var result = BaseBackupAssessment.Assess([], null, Size, Settings with { VerifyFrom = "000000010000000000000007" }, Now, findings);

        Assert.Equal(7 * Size, result.ContinuityStart);
        Assert.Equal(FindingCodes.BaseBackupMissing, Assert.Single(findings.Ordered()).Code);
    }

    [Fact]
    public void BaseBackups_DirectoryCheckFailed_Critical()
    {
        var backups = new[] { new BaseBackupRecord("nightly-1", 0x5000028, 1, Now.AddHours(-1), "nightly", true, new BackupCheck(false, "\"base/1/1259\" has size 0"), null) };
        var findings = new FindingList();

        BaseBackupAssessment.Assess([], backups, Size, Settings, Now, findings);

        var finding = Assert.Single(findings.Ordered());
        Assert.Equal((Severity.Critical, FindingCodes.BaseBackupInvalid, "nightly-1"), (finding.Severity, finding.Code, finding.Subject));
    }

    [Fact]
    public void Verdict_AndFirstProblem_InWalOrder()
    {
        var findings = new FindingList();
        findings.Critical("later", "b", "b", 200);
        findings.Warning("w", "w", "w", 50);
        findings.Critical("earlier", "a", "a", 100);
        findings.Info("i", "i", "i", 0);

        var ordered = findings.Ordered();
        var verdict = FindingList.Verdict(ordered);

        Assert.Equal(["i", "w", "earlier", "later"], ordered.Select(f => f.Code));
        Assert.Equal(ArchiveVerdict.Failure, verdict);
        Assert.Equal("earlier", FindingList.FirstProblem(ordered, verdict)!.Code);
        Assert.Equal(ArchiveVerdict.Ok, FindingList.Verdict([new Finding { Severity = Severity.Info }]));
    }

    private static NodeView Primary() => new()
    {
        Source = "sql",
        Role = NodeRole.Primary,
        ArchiveMode = "on",
        SegmentSize = Size,
    };

    private static ArchiveFile Last(ulong segment, DateTimeOffset archivedAt)
    {
        var name = WalFileName.FormatSegment(1, segment, Size);
        WalFileName.TryParse(name, out var parsed);
        return new ArchiveFile(new ArchiveEntry(name, (long)Size, archivedAt), parsed, segment);
    }

    private static ArchivedBackupLabel Label(string name, ulong start, DateTimeOffset stop)
    {
        WalFileName.TryParse(name, out var parsed);
        var file = new ArchiveFile(new ArchiveEntry(name, 300, stop), parsed, start / Size);
        return new ArchivedBackupLabel(file, new BackupLabel(start, 1, start + 100, "pg_basebackup base backup", stop.AddMinutes(-1), stop));
    }
}
