using System.Globalization;

namespace Fleet.Agent.Archive.Wal;

/// <summary>What one page's header says about the segment.</summary>
internal enum PageState
{
    /// <summary>A valid header; the page holds WAL.</summary>
    Valid,

    /// <summary>An all-zero page: never written (the tail after XLOG_SWITCH).</summary>
    Zero,

    /// <summary>In a .partial file: WAL ended before this page; the rest is leftover.</summary>
    EndOfData,

    /// <summary>An invalid header; <see cref="PageHeaderChecker.Problem"/> says why.</summary>
    Problem,
}

/// <summary>
/// Checks the page headers of one segment in order, as XLogReaderValidatePageHeader does, plus what a reader
/// only notices later: magic of the server's version, long header on page 0 only, system identifier,
/// segment and block size, xlp_pageaddr equal to the page's position, xlp_tli allowed by the timeline
/// history at that position and never decreasing, xlp_rem_len consistent with XLP_FIRST_IS_CONTRECORD
/// and with the previous page, and nothing written after empty pages.
/// </summary>
internal sealed class PageHeaderChecker
{
    private readonly SegmentExpectation _expect;
    private ushort _magic;
    private uint _previousTimeline;
    private ulong _carry;
    private ulong? _firstZeroAddress;

    public PageHeaderChecker(SegmentExpectation expectation, int blockSize)
    {
        _expect = expectation;
        BlockSize = blockSize;
    }

    public int BlockSize { get; }

    public SegmentProblem? Problem { get; private set; }

    /// <summary>xlp_rem_len of page 0: bytes of a record continued from the previous segment.</summary>
    public uint CarriedIn { get; private set; }

    /// <summary>Bytes the last page says continue into the next segment, when the last page is pure continuation; else 0.</summary>
    public ulong CarryOut => _carry;

    /// <summary>Where WAL ends in a .partial file (the first page not belonging to it), if it ends before the file does.</summary>
    public ulong? EndOfData { get; private set; }

    /// <summary>The first all-zero page, if any.</summary>
    public ulong? FirstZeroPage => _firstZeroAddress;

    public ulong? SystemIdentifier { get; private set; }

    public ushort Magic => _magic;

    public int ValidPages { get; private set; }

    public PageState Check(ReadOnlySpan<byte> page, int index, out WalPageHeader header)
    {
        var address = _expect.StartLsn + ((ulong)index * (ulong)BlockSize);
        header = WalPageHeader.Read(page);
        if (header.IsZero)
        {
            if (index == 0)
            {
                return Fail("page_header_invalid", address, "the first page is empty: no long page header");
            }

            if (_carry > 0 && _firstZeroAddress is null)
            {
                if (_expect.IsPartial)
                {
                    return EndOf(address);
                }

                return Fail("record_invalid", address, $"the previous page says a record continues for {_carry} more bytes, but the page at {Lsn.Format(address)} is empty");
            }

            _firstZeroAddress ??= address;
            return PageState.Zero;
        }

        if (_firstZeroAddress is { } zero)
        {
            if (_expect.IsPartial)
            {
                return EndOf(address);
            }

            return Fail("page_header_invalid", address, $"the page at {Lsn.Format(address)} has a header although the page at {Lsn.Format(zero)} before it is empty");
        }

        if (_expect.IsPartial && index > 0 && (header.PageAddress != address || header.Magic != _magic))
        {
            return EndOf(address);
        }

        if (index == 0)
        {
            if (_expect.Magic is { } magic && header.Magic != magic)
            {
                return Fail("page_magic_mismatch", address, $"page magic {Describe(header.Magic)}, but the server's PostgreSQL {WalFormat.MajorForMagic(magic)} writes 0x{magic:X4}");
            }

            if (_expect.Magic is null && WalFormat.MajorForMagic(header.Magic) is null)
            {
                return Fail("page_magic_mismatch", address, $"page magic 0x{header.Magic:X4} is not one of PostgreSQL 13 to 18");
            }

            _magic = header.Magic;
        }
        else if (header.Magic != _magic)
        {
            return Fail("page_magic_mismatch", address, $"page magic {Describe(header.Magic)} at {Lsn.Format(address)} differs from the first page's 0x{_magic:X4}");
        }

        if (header.PageAddress != address)
        {
            return Fail("page_address_mismatch", address, index == 0
                ? $"the first page says it is {Lsn.Format(header.PageAddress)} (segment {WalFileName.FormatSegment(header.Timeline, header.PageAddress / _expect.SegmentSize, _expect.SegmentSize)}), not {Lsn.Format(address)}: the file holds another segment's WAL"
                : $"the page at offset {address - _expect.StartLsn} says it is {Lsn.Format(header.PageAddress)}, not {Lsn.Format(address)}");
        }

        if ((header.Info & ~WalFormat.AllPageFlags) != 0)
        {
            return Fail("page_header_invalid", address, $"invalid xlp_info 0x{header.Info:X4} on the page at {Lsn.Format(address)}");
        }

        if (index == 0 != header.IsLong)
        {
            return Fail("page_header_invalid", address, index == 0
                ? "the first page has no long page header"
                : $"the page at {Lsn.Format(address)} has a long page header, which only a segment's first page has");
        }

        if (index == 0 && CheckLongHeader(header, address) is { } failed)
        {
            return failed;
        }

        if (CheckTimeline(header, address) is { } timelineFailed)
        {
            return timelineFailed;
        }

        if (CheckContinuation(header, address, index) is { } continuationFailed)
        {
            return continuationFailed;
        }

        ValidPages++;
        return PageState.Valid;
    }

    private PageState? CheckLongHeader(in WalPageHeader header, ulong address)
    {
        SystemIdentifier = header.SystemIdentifier;
        if (_expect.SystemIdentifier is { } sysid && header.SystemIdentifier != sysid)
        {
            return Fail("sysid_mismatch", address, string.Create(CultureInfo.InvariantCulture,
                $"system identifier {header.SystemIdentifier}, but the cluster's is {sysid}: the segment comes from another cluster"));
        }

        if (header.SegmentSize != _expect.SegmentSize)
        {
            return Fail("segment_size_mismatch", address, string.Create(CultureInfo.InvariantCulture,
                $"the long page header says the segment size is {header.SegmentSize} bytes, but wal_segment_size is {_expect.SegmentSize}"));
        }

        if (header.BlockSize != BlockSize)
        {
            return Fail("page_header_invalid", address, string.Create(CultureInfo.InvariantCulture,
                $"the long page header says the WAL block size is {header.BlockSize}, but it is {BlockSize}"));
        }

        return null;
    }

    private PageState? CheckTimeline(in WalPageHeader header, ulong address)
    {
        var end = address + (ulong)BlockSize;
        var allowed = false;
        foreach (var span in _expect.History.Spans)
        {
            // The page that holds a switch point may carry either timeline.
            if (span.Timeline == header.Timeline && span.Begin < end && address < span.End)
            {
                allowed = true;
                break;
            }
        }

        if (!allowed)
        {
            var owners = string.Join(" or ", _expect.History.Spans.Where(s => s.Begin < end && address < s.End).Select(s => s.Timeline));
            return Fail("timeline_mismatch", address, string.Create(CultureInfo.InvariantCulture,
                $"the page at {Lsn.Format(address)} is on timeline {header.Timeline}, but along the history of timeline {_expect.Timeline} that WAL belongs to timeline {owners}"));
        }

        if (header.Timeline < _previousTimeline)
        {
            return Fail("timeline_mismatch", address, string.Create(CultureInfo.InvariantCulture,
                $"the page at {Lsn.Format(address)} is on timeline {header.Timeline}, after a page on timeline {_previousTimeline}"));
        }

        _previousTimeline = header.Timeline;
        return null;
    }

    private PageState? CheckContinuation(in WalPageHeader header, ulong address, int index)
    {
        if (header.IsContinuation != (header.RemainingLength > 0))
        {
            return Fail("page_header_invalid", address, header.IsContinuation
                ? $"the page at {Lsn.Format(address)} continues a record but says 0 bytes remain"
                : $"the page at {Lsn.Format(address)} says {header.RemainingLength} bytes of a record remain without XLP_FIRST_IS_CONTRECORD");
        }

        if (_carry > 0 && !header.IsOverwriteContinuation && header.RemainingLength != _carry)
        {
            return Fail("page_header_invalid", address,
                $"the page at {Lsn.Format(address)} continues {header.RemainingLength} bytes, but the previous page left {_carry}");
        }

        if (index == 0)
        {
            CarriedIn = header.RemainingLength;
        }

        var room = (ulong)(BlockSize - header.Size);
        _carry = header.RemainingLength > room ? header.RemainingLength - room : 0;
        return null;
    }

    private PageState EndOf(ulong address)
    {
        EndOfData ??= address;
        return PageState.EndOfData;
    }

    private PageState Fail(string code, ulong address, string message)
    {
        Problem = new SegmentProblem(code, message, address);
        return PageState.Problem;
    }

    private static string Describe(ushort magic) => WalFormat.MajorForMagic(magic) is { } major
        ? $"0x{magic:X4} (PostgreSQL {major})"
        : $"0x{magic:X4}";
}
