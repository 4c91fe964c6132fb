using System.Buffers.Binary;
using System.IO.Compression;
using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Protos.V1;
using Xunit.Abstractions;

namespace Fleet.Agent.Tests.Archive;

/// <summary>
/// Verification of real archives (a timeline switch included), intact and then damaged one way at a time;
/// each damage must be reported precisely: the right code, naming the right file, and nothing else critical.
/// </summary>
[Collection(ArchiveClusterGroup.Name)]
public sealed class RealArchiveTests(ArchiveClusterFixture fixture, ITestOutputHelper output)
{
    private const int PageSize = 8192;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Verify_IntactArchiveWithTimelineSwitch_Ok(bool deep)
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);

        var status = (await archive.VerifyAsync(fixture.NodeA, deep)).Status;

        Dump(status);
        Assert.Equal(ArchiveVerdict.Ok, status.Verdict);
        Assert.DoesNotContain(status.Findings, f => f.Severity != Severity.Info);
        Assert.Null(status.FirstProblem);
        Assert.Equal(fixture.Timeline2Segments[^1], status.LastArchivedSegment);
        Assert.Contains(status.Findings, f => f.Code == FindingCodes.PartialSegment && f.Subject.StartsWith("00000001", StringComparison.Ordinal));
        Assert.Equal(deep, status.Deep);
        Assert.Equal("kr-central", status.ArchiveRegion);
        Assert.Equal(archive.Directory, status.ArchiveLocation);
        Assert.NotNull(status.OldestBaseBackup);
        Assert.NotNull(status.NewestBaseBackup);
        Assert.Equal(0UL, status.ArchiveLagSegments);
    }

    [Fact]
    public async Task Verify_SegmentMissingInTheMiddle_FailureNamingIt()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var missing = fixture.Timeline1Segments[^2];
        archive.Delete(missing);

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.SegmentMissing, missing);
        Assert.Contains($"WAL segment {missing} is missing", status.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_FirstSegmentOfNewTimelineMissing_FailureNamingItNotThePartial()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var missing = fixture.Timeline2Segments[0];
        archive.Delete(missing);

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.SegmentMissing, missing);
        Assert.Contains(".partial exists", status.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_SegmentOlderThanOldestBaseBackupMissing_Ok()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        archive.Delete(fixture.Timeline1Segments[0]);

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        Assert.Equal(ArchiveVerdict.Ok, status.Verdict);
    }

    [Fact]
    public async Task Verify_TruncatedSegment_FailureNamingIt()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var truncated = fixture.Timeline2Segments[1];
        using (var file = File.Open(archive.Path(truncated), FileMode.Open))
        {
            file.SetLength(3 * 1024 * 1024 + 100);
        }

        File.SetLastWriteTimeUtc(archive.Path(truncated), DateTime.UtcNow.AddMinutes(-10));

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.SegmentTruncated, truncated);
        Assert.Contains("3145828 bytes", status.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_NewestSegmentStillBeingCopied_InfoUntilItIsOld()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var copying = fixture.Timeline2Segments[^1];
        using (var file = File.Open(archive.Path(copying), FileMode.Open))
        {
            file.SetLength(5 * 8192);
        }

        var now = (await archive.VerifyAsync(fixture.NodeA)).Status;
        File.SetLastWriteTimeUtc(archive.Path(copying), DateTime.UtcNow.AddMinutes(-3));
        var later = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Assert.Equal(ArchiveVerdict.Ok, now.Verdict);
        Assert.Contains(now.Findings, f => f.Code == FindingCodes.SegmentTruncated && f.Severity == Severity.Info && f.Message.Contains("still being copied", StringComparison.Ordinal));
        AssertOnlyCritical(later, FindingCodes.SegmentTruncated, copying);
    }

    [Fact]
    public async Task Verify_SegmentFromAnotherCluster_SysidMismatchNamingIt()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var foreign = fixture.Timeline1Segments[^3];
        Assert.True(File.Exists(Path.Combine(fixture.TemplateB, foreign)), $"cluster B has no {foreign}");
        File.Copy(Path.Combine(fixture.TemplateB, foreign), archive.Path(foreign), overwrite: true);

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.SysidMismatch, foreign);
        Assert.Contains(fixture.NodeA.SystemIdentifier!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), status.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_SegmentFromAnotherClusterWithoutServerView_MinoritySysidFlagged()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var foreign = fixture.Timeline1Segments[^3];
        File.Copy(Path.Combine(fixture.TemplateB, foreign), archive.Path(foreign), overwrite: true);

        var status = (await archive.VerifyAsync(NodeView.Unknown with { Error = "test: no server" })).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.SysidMismatch, foreign);
    }

    [Fact]
    public async Task Verify_PageTimelinePatched_TimelineMismatchNamingIt()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var patched = fixture.Timeline1Segments[^3];
        var bytes = await File.ReadAllBytesAsync(archive.Path(patched));
        for (var page = 0; page < bytes.Length; page += PageSize)
        {
            if (BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(page)) != 0)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(page + 4), 2);
            }
        }

        await File.WriteAllBytesAsync(archive.Path(patched), bytes);

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.TimelineMismatch, patched);
        Assert.Contains("timeline 2", status.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_HistoryMissingAfterPromotion_HistoryMissingOnlyNoFalseGaps()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        archive.Delete("00000002.history");

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.HistoryMissing, "00000002.history");
        Assert.DoesNotContain(status.Findings, f => f.Code is FindingCodes.SegmentMissing or FindingCodes.TimelineMismatch);
    }

    [Fact]
    public async Task Verify_FlippedByteInsideRecord_DeepReportsCrcMismatchWithSegmentAndLsn()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var (segment, lsn, _) = fixture.Record;
        await archive.FlipBitInsideRecordAsync(fixture.Record);

        var headers = (await archive.VerifyAsync(fixture.NodeA, deep: false)).Status;
        var deep = (await archive.VerifyAsync(fixture.NodeA, deep: true)).Status;

        Dump(deep);
        Assert.Equal(ArchiveVerdict.Ok, headers.Verdict);
        AssertOnlyCritical(deep, FindingCodes.RecordCrcMismatch, segment);
        Assert.Contains($"record at {Lsn.Format(lsn)}", deep.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Verify_GzipCompressedSegments_Ok(bool deep)
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        foreach (var path in Directory.GetFiles(archive.Directory))
        {
            await using (var source = File.OpenRead(path))
            await using (var target = new GZipStream(File.Create(path + ".gz"), CompressionLevel.Fastest))
            {
                await source.CopyToAsync(target);
            }

            File.Delete(path);
        }

        var status = (await archive.VerifyAsync(fixture.NodeA, deep)).Status;

        Dump(status);
        Assert.Equal(ArchiveVerdict.Ok, status.Verdict);
        Assert.Equal(fixture.Timeline2Segments[^1] + ".gz", status.LastArchivedSegment);
    }

    [Fact]
    public async Task Verify_GzipSegmentTruncated_Failure()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var name = fixture.Timeline2Segments[1];
        var content = await File.ReadAllBytesAsync(archive.Path(name));
        await using (var target = new GZipStream(File.Create(archive.Path(name + ".gz")), CompressionLevel.Fastest))
        {
            await target.WriteAsync(content.AsMemory(0, 2 * 1024 * 1024));
        }

        archive.Delete(name);
        File.SetLastWriteTimeUtc(archive.Path(name + ".gz"), DateTime.UtcNow.AddMinutes(-10));

        var status = (await archive.VerifyAsync(fixture.NodeA)).Status;

        Dump(status);
        AssertOnlyCritical(status, FindingCodes.SegmentTruncated, name + ".gz");
    }

    [Fact]
    public async Task Verify_SecondRun_ReadsNothingUnchangedAndOnlyWhatChanged()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var reader = new CountingArchiveReader(new DirectoryArchiveReader(archive.Directory));
        var cache = new SegmentCache();

        var first = await archive.VerifyAsync(fixture.NodeA, cache: cache, reader: reader);
        var firstReads = reader.Opened;
        reader.Reset();
        var second = await archive.VerifyAsync(fixture.NodeA, cache: cache, reader: reader);
        var secondReads = reader.Opened;
        reader.Reset();
        var touched = fixture.Timeline2Segments[1];
        File.SetLastWriteTimeUtc(archive.Path(touched), DateTime.UtcNow.AddMinutes(1));
        var third = await archive.VerifyAsync(fixture.NodeA, cache: cache, reader: reader);

        Assert.Equal(Directory.GetFiles(archive.Directory).Length, firstReads);
        Assert.Equal(0, secondReads);
        Assert.Equal(second.Status.SegmentsVerified, (ulong)second.SegmentsFromCache);
        Assert.Equal([touched], reader.Names);
        Assert.All([first, second, third], o => Assert.Equal(ArchiveVerdict.Ok, o.Status.Verdict));
        Assert.Equal(first.Status.SegmentsVerified, third.Status.SegmentsVerified);
    }

    [Fact]
    public async Task Verify_DeepAfterHeaderRun_RereadsForRecordsThenCachesDeep()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var reader = new CountingArchiveReader(new DirectoryArchiveReader(archive.Directory));
        var cache = new SegmentCache();
        await archive.VerifyAsync(fixture.NodeA, cache: cache, reader: reader);
        reader.Reset();

        await archive.VerifyAsync(fixture.NodeA, deep: true, cache: cache, reader: reader);
        var deepReads = reader.Opened;
        reader.Reset();
        await archive.VerifyAsync(fixture.NodeA, deep: true, cache: cache, reader: reader);
        await archive.VerifyAsync(fixture.NodeA, deep: false, cache: cache, reader: reader);

        Assert.True(deepReads >= fixture.Timeline1Segments.Count + fixture.Timeline2Segments.Count, $"deep run opened {deepReads} files");
        Assert.Equal(0, reader.Opened);
    }

    [Fact]
    public async Task Verify_ArchiveRegionOutsideNodeRegion_CriticalFinding()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);

        var status = (await archive.VerifyAsync(fixture.NodeA, settings: ArchiveCopy.Settings with { ArchiveRegion = "eu-west" })).Status;

        AssertOnlyCritical(status, FindingCodes.ArchiveOutOfRegion, "Archive:Region");
        Assert.Contains("'eu-west'", status.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_AcknowledgedMissingSegment_InfoNotFailure()
    {
        using var archive = new ArchiveCopy(fixture.TemplateA);
        var missing = fixture.Timeline1Segments[^2];
        archive.Delete(missing);
        AcknowledgedSegments.TryParse([missing], out var acknowledged, out _);

        var status = (await archive.VerifyAsync(fixture.NodeA, settings: ArchiveCopy.Settings with { Acknowledged = acknowledged })).Status;

        Assert.Equal(ArchiveVerdict.Ok, status.Verdict);
        Assert.Contains(status.Findings, f => f.Code == FindingCodes.SegmentMissing && f.Severity == Severity.Info && f.Subject == missing);
    }

    private static void AssertOnlyCritical(ArchiveStatus status, string code, string subject)
    {
        Assert.Equal(ArchiveVerdict.Failure, status.Verdict);
        Assert.Equal(code, status.FirstProblem.Code);
        Assert.Equal(subject, status.FirstProblem.Subject);
        var critical = Assert.Single(status.Findings, f => f.Severity == Severity.Critical);
        Assert.Equal(status.FirstProblem, critical);
    }

    private void Dump(ArchiveStatus status)
    {
        output.WriteLine($"{status.Verdict} in {status.DurationSeconds:0.000}s, {status.SegmentsVerified} segments, last {status.LastArchivedSegment}");
        foreach (var f in status.Findings)
        {
            output.WriteLine($"  {f.Severity} {f.Code} [{f.Subject}] {f.Message}");
        }
    }
}
