using System.Text;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Tests.Archive;

/// <summary>Pure parsing: file names, LSNs, CRC-32C, timeline histories, backup labels.</summary>
public sealed class WalFormatTests
{
    private const ulong Mb16 = 16 * 1024 * 1024;

    [Theory]
    [InlineData("000000010000000A000000FF", WalFileKind.Segment, 1u, 0xAFFUL, WalCompression.None)]
    [InlineData("00000003000000000000002C.gz", WalFileKind.Segment, 3u, 0x2CUL, WalCompression.Gzip)]
    [InlineData("00000001000000000000000A.partial", WalFileKind.Partial, 1u, 0xAUL, WalCompression.None)]
    [InlineData("00000001000000000000000A.partial.gz", WalFileKind.Partial, 1u, 0xAUL, WalCompression.Gzip)]
    [InlineData("000000010000000000000005.00000028.backup", WalFileKind.BackupHistory, 1u, 5UL, WalCompression.None)]
    [InlineData("0000000A.history", WalFileKind.History, 10u, 0UL, WalCompression.None)]
    [InlineData("00000001000000000000002C.zst", WalFileKind.Segment, 1u, 0x2CUL, WalCompression.Unsupported)]
    public void TryParse_WalNames_KindTimelineSegment(string name, object kindValue, uint timeline, ulong segment, object compressionValue)
    {
        var kind = (WalFileKind)kindValue;
        var compression = (WalCompression)compressionValue;
        Assert.True(WalFileName.TryParse(name, out var parsed));
        Assert.Equal(kind, parsed.Kind);
        Assert.Equal(timeline, parsed.Timeline);
        Assert.Equal(compression, parsed.Compression);
        if (kind != WalFileKind.History)
        {
            Assert.Equal(segment, parsed.SegmentNumber(Mb16));
        }
    }

    [Theory]
    [InlineData("00000001000000000000000g")]
    [InlineData("000000010000000000000001a")]
    [InlineData("00000001000000000000000")]
    [InlineData("archive_status")]
    [InlineData("00000001.history.txt")]
    [InlineData("000000010000000000000005.backup")]
    public void TryParse_NotWal_False(string name) => Assert.False(WalFileName.TryParse(name, out _));

    [Fact]
    public void SegmentNumber_SegmentHalfOutOfRangeForSize_Null()
    {
        Assert.True(WalFileName.TryParse("000000010000000000000100", out var name));

        Assert.Null(name.SegmentNumber(Mb16));
        Assert.Equal(256UL, name.SegmentNumber(1024 * 1024));
    }

    [Theory]
    [InlineData(1u, 0xAFFUL, Mb16, "000000010000000A000000FF")]
    [InlineData(2u, 0x1000UL, 1024UL * 1024, "000000020000000100000000")]
    [InlineData(0x1Fu, 3UL, 1024UL * 1024 * 1024, "0000001F0000000000000003")]
    public void FormatSegment_XLogFileName(uint timeline, ulong segment, ulong size, string expected) =>
        Assert.Equal(expected, WalFileName.FormatSegment(timeline, segment, size));

    [Theory]
    [InlineData("0/5000028", 0x5000028UL)]
    [InlineData("A/FF", 0xA000000FFUL)]
    [InlineData(" 16/B374D848 ", 0x16B374D848UL)]
    public void Lsn_ParseAndFormat_RoundTrip(string text, ulong value)
    {
        Assert.True(Lsn.TryParse(text, out var parsed));
        Assert.Equal(value, parsed);
        Assert.Equal(text.Trim().ToUpperInvariant(), Lsn.Format(value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("5000028")]
    [InlineData("0/")]
    [InlineData("123456789/0")]
    [InlineData("0/XYZ")]
    public void Lsn_Invalid_False(string text) => Assert.False(Lsn.TryParse(text, out _));

    [Fact]
    public void Crc32C_StandardCheckValue() =>
        Assert.Equal(0xE3069283u, WalCrc.Compute(Encoding.ASCII.GetBytes("123456789")));

    [Fact]
    public void Crc32C_ThreeWayLanesEqualByteAtATime()
    {
        var random = new Random(42);
        foreach (var length in new[] { 0, 1, 7, 8, 255, 767, 768, 769, 3071, 3072, 3 * 4096, (3 * 4096) + 13, 100_000 })
        {
            var data = new byte[length];
            random.NextBytes(data);
            var expected = WalCrc.Initial;
            foreach (var b in data)
            {
                expected = System.Numerics.BitOperations.Crc32C(expected, b);
            }

            Assert.Equal(expected, WalCrc.Update(WalCrc.Initial, data));
        }
    }

    [Fact]
    public void Crc32C_HandBuiltRecord_DataFirstThenHeader()
    {
        // XLogRecord: xl_tot_len 32, xl_xid 7, xl_prev 0/1000028, xl_info 0x10, xl_rmid 10, pad, xl_crc; 8 data bytes.
        var record = new byte[32];
        BitConverter.TryWriteBytes(record.AsSpan(0), 32u);
        BitConverter.TryWriteBytes(record.AsSpan(4), 7u);
        BitConverter.TryWriteBytes(record.AsSpan(8), 0x1000028UL);
        record[16] = 0x10;
        record[17] = 10;
        "fleetwal"u8.CopyTo(record.AsSpan(24));
        var ordered = new byte[8 + 20];
        record.AsSpan(24, 8).CopyTo(ordered);
        record.AsSpan(0, 20).CopyTo(ordered.AsSpan(8));
        var crc = WalCrc.Compute(ordered);
        BitConverter.TryWriteBytes(record.AsSpan(20), crc);
        var page = new byte[8192];
        WritePageHeader(page, 0x1000000UL);
        record.CopyTo(page, 40);

        var checker = new WalRecordChecker(8192, startsMidStream: false);
        checker.FeedPage(page, WalPageHeader.Read(page), 0x1000000);

        Assert.Equal(1, checker.Records);
        Assert.Equal(RecordScanEnd.Zero, checker.End);
        Assert.Equal(0x1000028UL + 32, checker.EndLsn);
        page[40 + 27] ^= 1;
        var damaged = new WalRecordChecker(8192, startsMidStream: false);
        damaged.FeedPage(page, WalPageHeader.Read(page), 0x1000000);
        Assert.Equal(RecordScanEnd.Invalid, damaged.End);
        Assert.Equal("record_crc_mismatch", damaged.Problem!.Value.Code);
        Assert.Equal(0x1000028UL, damaged.Problem.Value.Lsn);
    }

    [Fact]
    public void PageHeader_LongHeaderFields()
    {
        var page = new byte[8192];
        WritePageHeader(page, 0x3000000UL);

        var header = WalPageHeader.Read(page);

        Assert.Equal(0xD110, header.Magic);
        Assert.True(header.IsLong);
        Assert.Equal(40, header.Size);
        Assert.Equal(2u, header.Timeline);
        Assert.Equal(0x3000000UL, header.PageAddress);
        Assert.Equal(7310000000000000001UL, header.SystemIdentifier);
        Assert.Equal(16u * 1024 * 1024, header.SegmentSize);
        Assert.Equal(8192u, header.BlockSize);
        Assert.False(header.IsZero);
        Assert.True(WalPageHeader.Read(new byte[24]).IsZero);
    }

    [Theory]
    [InlineData(13, 0xD106)]
    [InlineData(14, 0xD10D)]
    [InlineData(15, 0xD110)]
    [InlineData(16, 0xD113)]
    [InlineData(17, 0xD116)]
    [InlineData(18, 0xD118)]
    public void Magic_PerMajorVersion(int major, int magic)
    {
        Assert.Equal((ushort)magic, WalFormat.MagicForMajor(major));
        Assert.Equal(major, WalFormat.MajorForMagic((ushort)magic));
    }

    [Fact]
    public void History_ParsesSpansAndAnswersWhichTimelineOwnsWhat()
    {
        const string content = "1\t0/A0000A0\tno recovery target specified\n\n# comment\n2\t0/C000000\tbefore 2000-01-01 00:00:00+00\n";

        Assert.True(TimelineHistory.TryParse(3, content, out var history, out var error), error);
        Assert.Equal([new TimelineSpan(1, 0, 0xA0000A0), new TimelineSpan(2, 0xA0000A0, 0xC000000), new TimelineSpan(3, 0xC000000, TimelineSpan.Open)], history!.Spans);
        Assert.Equal(1u, history.TimelineAt(0x9FFFFFF));
        Assert.Equal(2u, history.TimelineAt(0xA0000A0));
        Assert.Equal(3u, history.TimelineAt(0xD000000));
        Assert.Equal(1u, history.TimelineForSegment(9, Mb16));
        Assert.Equal(2u, history.TimelineForSegment(0xA, Mb16));
        Assert.Equal(2u, history.TimelineForSegment(0xB, Mb16));
        Assert.Equal(3u, history.TimelineForSegment(0xC, Mb16));
    }

    [Fact]
    public void History_SkippedTimeline_SegmentGoesToTheNewest()
    {
        // Timeline 2 existed for a few bytes only (skipped): its segment is never needed.
        Assert.True(TimelineHistory.TryParse(3, "1\t0/7000100\tx\n2\t0/7000200\ty\n", out var history, out _));

        Assert.Equal(3u, history!.TimelineForSegment(7, Mb16));
        Assert.Equal(1u, history.TimelineForSegment(6, Mb16));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1 nonsense")]
    [InlineData("2\t0/1000000\tx\n1\t0/2000000\ty")]
    [InlineData("1\t0/2000000\tx\n2\t0/1000000\ty")]
    [InlineData("3\t0/1000000\tx")]
    public void History_Invalid_ErrorSaysWhy(string content)
    {
        Assert.False(TimelineHistory.TryParse(3, content, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void BackupLabel_BackupHistoryFile()
    {
        const string content = """
            START WAL LOCATION: 0/5000028 (file 000000010000000000000005)
            STOP WAL LOCATION: 0/5000100 (file 000000010000000000000005)
            CHECKPOINT LOCATION: 0/5000060
            BACKUP METHOD: streamed
            BACKUP FROM: primary
            START TIME: 2026-11-22 01:18:05 UTC
            LABEL: nightly
            START TIMELINE: 1
            STOP TIME: 2026-11-22 01:18:07 UTC
            STOP TIMELINE: 1
            """;

        Assert.True(BackupLabel.TryParse(content, out var label, out _));
        Assert.Equal(0x5000028UL, label!.StartLsn);
        Assert.Equal(0x5000100UL, label.StopLsn);
        Assert.Equal(1u, label.StartTimeline);
        Assert.Equal("nightly", label.Label);
        Assert.Equal(new DateTimeOffset(2026, 11, 22, 1, 18, 7, TimeSpan.Zero), label.StopTime);
    }

    [Theory]
    [InlineData("2026-11-22 10:18:07 KST", null)]
    [InlineData("2026-11-22 10:18:07 +09", "2026-11-22T01:18:07Z")]
    [InlineData("2026-11-22 01:18:07 GMT", "2026-11-22T01:18:07Z")]
    public void BackupLabel_TimeZones_OnlyUnambiguousOnesTrusted(string text, string? utc) =>
        Assert.Equal(utc is null ? null : DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), BackupLabel.ParseTime(text));

    private static void WritePageHeader(byte[] page, ulong address)
    {
        BitConverter.TryWriteBytes(page.AsSpan(0), (ushort)0xD110);
        BitConverter.TryWriteBytes(page.AsSpan(2), WalFormat.LongHeader);
        BitConverter.TryWriteBytes(page.AsSpan(4), 2u);
        BitConverter.TryWriteBytes(page.AsSpan(8), address);
        BitConverter.TryWriteBytes(page.AsSpan(24), 7310000000000000001UL);
        BitConverter.TryWriteBytes(page.AsSpan(32), 16u * 1024 * 1024);
        BitConverter.TryWriteBytes(page.AsSpan(36), 8192u);
    }
}
