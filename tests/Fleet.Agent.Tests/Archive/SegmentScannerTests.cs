using System.Buffers.Binary;
using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Archive;

/// <summary>Page-header and record checks over synthetic WAL built byte for byte (<see cref="WalBuilder"/>).</summary>
public sealed class SegmentScannerTests
{
    private const ulong Sysid = 7310000000000000001;
    private const ulong Size = 1024 * 1024;

    private static readonly NodeView Node = new()
    {
        Source = "sql",
        SystemIdentifier = Sysid,
        MajorVersion = 15,
        Timeline = 1,
        SegmentSize = Size,
        BlockSize = 8192,
        Role = NodeRole.Primary,
    };

    [Fact]
    public void Scan_RecordsSpanningPagesAndSplitHeaders_DeepOkWithEveryRecord()
    {
        var wal = new WalBuilder(Sysid).StartAt(3);
        var count = 0;
        for (var i = 0; i < 40; i++, count++)
        {
            wal.Add(i % 5 == 0 ? 20_000 : 50 + (i * 37));
        }

        wal.FillPageUntil(16);
        wal.Add(300);
        wal.FillPageUntil(8);
        wal.Add(64);
        wal.Switch();

        var headers = Scan(wal, 3, deep: false);
        var deep = Scan(wal, 3, deep: true);

        Assert.Null(headers.Problem);
        Assert.Null(deep.Problem);
        Assert.True(deep.Deep);
        Assert.True(deep.Records > count + 4, $"{deep.Records} records");
        Assert.Equal(Sysid, deep.SystemIdentifier);
        Assert.NotNull(deep.EndOfWal);
    }

    [Fact]
    public void Scan_FlippedDataByte_CrcMismatchAtThatRecord()
    {
        var wal = new WalBuilder(Sysid).StartAt(3);
        wal.Add(100);
        var damaged = wal.Add(5000);
        wal.Add(100);
        wal.Switch();
        var bytes = wal.Segment(3);
        bytes[(int)(damaged % Size) + 24 + 4000] ^= 0x01;

        var result = Scan(bytes, wal, 3, deep: true);

        Assert.Equal("record_crc_mismatch", result.Problem?.Code);
        Assert.Equal(damaged, result.Problem?.Lsn);
        Assert.Contains(Lsn.Format(damaged), result.Problem?.Message, StringComparison.Ordinal);
        Assert.Null(Scan(bytes, wal, 3, deep: false).Problem);
    }

    [Fact]
    public void Scan_WalStopsWithoutSwitch_HeadersAcceptDeepReports()
    {
        var wal = new WalBuilder(Sysid).StartAt(3);
        var last = 0UL;
        for (var i = 0; i < 20; i++)
        {
            last = wal.Add(300);
        }

        var headers = Scan(wal, 3, deep: false);
        var deep = Scan(wal, 3, deep: true);

        Assert.Null(headers.Problem);
        Assert.Equal("record_invalid", deep.Problem?.Code);
        Assert.Contains("without a switch record", deep.Problem?.Message, StringComparison.Ordinal);
        Assert.Equal((last + 324 + 7) & ~7UL, deep.Problem?.Lsn);
    }

    [Theory]
    [InlineData(2, 0x0000000000000000UL, "page_address_mismatch")]
    [InlineData(0, 0xDEADUL, "page_address_mismatch")]
    public void Scan_WrongPageAddress_Reported(int page, ulong address, string code)
    {
        var wal = new WalBuilder(Sysid).StartAt(3);
        for (var i = 0; i < 30; i++)
        {
            wal.Add(1000);
        }

        wal.Switch();
        var bytes = wal.Segment(3);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((page * 8192) + 8), address);

        var result = Scan(bytes, wal, 3, deep: false);

        Assert.Equal(code, result.Problem?.Code);
        Assert.Equal((3 * Size) + (ulong)(page * 8192), result.Problem?.Lsn);
    }

    [Fact]
    public void Scan_ContinuationFlagCleared_PageHeaderInvalid()
    {
        var wal = new WalBuilder(Sysid).StartAt(3);
        wal.Add(20_000);
        wal.Switch();
        var bytes = wal.Segment(3);
        bytes[8192 + 2] &= unchecked((byte)~WalFormat.FirstIsContRecord);

        var result = Scan(bytes, wal, 3, deep: false);

        Assert.Equal("page_header_invalid", result.Problem?.Code);
    }

    [Fact]
    public void Scan_OtherMajorVersionMagic_MagicMismatchNamingBoth()
    {
        var wal = new WalBuilder(Sysid, magic: 0xD113).StartAt(3);
        wal.Add(100);
        wal.Switch();

        var result = Scan(wal, 3, deep: false);

        Assert.Equal("page_magic_mismatch", result.Problem?.Code);
        Assert.Contains("0xD113 (PostgreSQL 16)", result.Problem?.Message, StringComparison.Ordinal);
        Assert.Contains("PostgreSQL 15 writes 0xD110", result.Problem?.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scan_Partial_LeftoverAfterEndOfWalIgnored()
    {
        var wal = new WalBuilder(Sysid).StartAt(3);
        for (var i = 0; i < 10; i++)
        {
            wal.Add(700);
        }

        var bytes = wal.Segment(3);
        // A recycled segment: later pages still hold an older segment's headers.
        for (var page = 2; page < 128; page++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(page * 8192), 0xD110);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan((page * 8192) + 8), (1 * Size) + (ulong)(page * 8192));
        }

        var expectation = Expect(wal, 3) with { IsPartial = true };
        var scanner = new SegmentScanner(expectation, deep: true);
        scanner.Feed(bytes);
        var result = scanner.Complete();

        Assert.Null(result.Problem);
        Assert.Equal((wal.Position + 7) & ~7UL, result.EndOfWal);
    }

    [Fact]
    public async Task Verifier_RecordSpanningSegments_CheckedWithTheSegmentItStartsIn()
    {
        var wal = new WalBuilder(Sysid).StartAt(1);
        ulong spanning = 0;
        while (wal.Position < (2 * Size) + 1000)
        {
            var lsn = wal.Add(6000);
            if (lsn < 2 * Size && wal.Position > 2 * Size)
            {
                spanning = lsn;
            }
        }

        wal.Switch();
        using var directory = new TempDirectory();
        wal.WriteTo(directory.Path);
        Assert.NotEqual(0UL, spanning);

        var intact = await VerifyAsync(directory.Path, deep: true);
        var second = wal.Segment(2);
        second[100] ^= 0x40; // in the continuation of the spanning record, right after the long header
        await File.WriteAllBytesAsync(Path.Combine(directory.Path, wal.Name(2)), second);
        var damaged = await VerifyAsync(directory.Path, deep: true);

        Assert.Equal(ArchiveVerdict.Warning, intact.Verdict); // no base backup: a warning only
        Assert.DoesNotContain(intact.Findings, f => f.Severity == Severity.Critical);
        Assert.Equal(ArchiveVerdict.Failure, damaged.Verdict);
        Assert.Equal("record_crc_mismatch", damaged.FirstProblem.Code);
        Assert.Equal(wal.Name(1), damaged.FirstProblem.Subject);
        Assert.Contains(Lsn.Format(spanning), damaged.FirstProblem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verifier_SegmentBoundaryDisagreesOnContinuation_HeaderModeNamesTheLaterSegment()
    {
        // A 50 kB record starting three pages before the end of segment 1: its last pages there are pure continuation.
        var wal = Stream(50_000);
        using var directory = new TempDirectory();
        wal.WriteTo(directory.Path);
        // Segment 2 from another stream of the same cluster, where a 30 kB record crosses the boundary instead.
        var other = Stream(30_000).Segment(2);
        Assert.NotEqual(BinaryPrimitives.ReadUInt32LittleEndian(wal.Segment(2).AsSpan(16)), BinaryPrimitives.ReadUInt32LittleEndian(other.AsSpan(16)));
        await File.WriteAllBytesAsync(Path.Combine(directory.Path, wal.Name(2)), other);

        var headers = await VerifyAsync(directory.Path, deep: false);
        var deep = await VerifyAsync(directory.Path, deep: true);

        Assert.Equal(ArchiveVerdict.Failure, headers.Verdict);
        Assert.Equal((FindingCodes.RecordInvalid, wal.Name(2)), (headers.FirstProblem.Code, headers.FirstProblem.Subject));
        Assert.Equal(ArchiveVerdict.Failure, deep.Verdict);
        Assert.Contains(deep.Findings, f => f.Code == FindingCodes.RecordInvalid && f.Subject == wal.Name(1) && f.Message.Contains("xlp_rem_len", StringComparison.Ordinal));
    }

    private static WalBuilder Stream(int spanning)
    {
        var wal = new WalBuilder(Sysid).StartAt(1);
        while (wal.Position < (2 * Size) - (3 * 8192))
        {
            wal.Add(4000);
        }

        wal.Add(spanning);
        wal.Add(100);
        wal.Switch();
        return wal;
    }

    private static Task<ArchiveStatus> VerifyAsync(string directory, bool deep) =>
        new ArchiveVerifier(new DirectoryArchiveReader(directory), new SegmentCache(), TimeProvider.System, 2)
            .VerifyAsync(Node, ArchiveCopy.Settings, deep, null, null, null, CancellationToken.None)
            .WaitAsync(ArchiveCopy.VerifyTimeout)
            .ContinueWith(t => t.Result.Status, TaskScheduler.Default);

    private static SegmentScanResult Scan(WalBuilder wal, ulong segment, bool deep) => Scan(wal.Segment(segment), wal, segment, deep);

    private static SegmentScanResult Scan(byte[] bytes, WalBuilder wal, ulong segment, bool deep)
    {
        var scanner = new SegmentScanner(Expect(wal, segment), deep);
        for (var offset = 0; offset < bytes.Length && scanner.WantsMore; offset += 64 * 1024)
        {
            scanner.Feed(bytes.AsSpan(offset, Math.Min(64 * 1024, bytes.Length - offset)));
        }

        return scanner.Complete();
    }

    private static SegmentExpectation Expect(WalBuilder wal, ulong segment) =>
        new(wal.Name(segment), 1, segment, wal.SegmentSize, 8192, 0xD110, Sysid, TimelineHistory.Root(1), IsPartial: false);
}

/// <summary>A temporary directory deleted on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("fleet-archive-unit-").FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
