using System.Globalization;

namespace Fleet.Agent.Archive.Wal;

/// <summary>What scanning one segment file found.</summary>
internal sealed record SegmentScanResult
{
    /// <summary>The first problem; null when the file is sound.</summary>
    public SegmentProblem? Problem { get; init; }

    /// <summary>Bytes of WAL the file held (decompressed).</summary>
    public long Length { get; init; }

    /// <summary>xlp_rem_len of the first page: bytes continuing a record from the previous segment.</summary>
    public uint CarriedIn { get; init; }

    /// <summary>Bytes the last page says continue into the next segment (0 when unknown or none).</summary>
    public ulong CarryOut { get; init; }

    public ulong? SystemIdentifier { get; init; }

    public ushort Magic { get; init; }

    /// <summary>Every record starting in the segment had its CRC-32C verified (deep mode, chain complete).</summary>
    public bool Deep { get; init; }

    /// <summary>Deep mode: the last record continues into the next segment and was not checked yet.</summary>
    public bool ContinuesIntoNext { get; init; }

    /// <summary>Records verified in deep mode.</summary>
    public int Records { get; init; }

    /// <summary>Where valid WAL ends inside the file (.partial, or after XLOG_SWITCH); null if it fills the file.</summary>
    public ulong? EndOfWal { get; init; }
}

/// <summary>
/// Scans one segment file fed in order, in chunks that are whole pages (the last may be short): page
/// headers always, and in deep mode every record that starts in the segment. Pure: bytes in, result out.
/// </summary>
internal sealed class SegmentScanner
{
    private readonly SegmentExpectation _expect;
    private readonly bool _deep;
    private PageHeaderChecker? _pages;
    private WalRecordChecker? _records;
    private long _fed;
    private int _pageIndex;
    private bool _stopped;
    private SegmentProblem? _problem;

    public SegmentScanner(SegmentExpectation expectation, bool deep)
    {
        _expect = expectation;
        _deep = deep;
    }

    /// <summary>Block size in use once the first page was seen.</summary>
    public int BlockSize => _pages?.BlockSize ?? _expect.BlockSize ?? WalFormat.DefaultBlockSize;

    /// <summary>False once nothing more needs to be read (a problem, or the end of a .partial's WAL without deep mode).</summary>
    public bool WantsMore => !_stopped;

    /// <summary>The record checker, for continuing a record into the next segment.</summary>
    public WalRecordChecker? Records => _records;

    /// <summary>Feeds the next bytes; <paramref name="chunk"/> must end on a page boundary unless it is the file's last.</summary>
    public void Feed(ReadOnlySpan<byte> chunk)
    {
        if (_pages is null && chunk.Length > 0)
        {
            _pages = new PageHeaderChecker(_expect, ChooseBlockSize(chunk));
            _records = _deep ? new WalRecordChecker(_pages.BlockSize, startsMidStream: true) : null;
        }

        _fed += chunk.Length;
        if (_stopped || _pages is null)
        {
            return;
        }

        var blockSize = _pages.BlockSize;
        var pagesLeft = ((long)_expect.SegmentSize / blockSize) - _pageIndex;
        var usable = (int)Math.Min(chunk.Length, pagesLeft * blockSize);
        for (var offset = 0; offset + blockSize <= usable; offset += blockSize, _pageIndex++)
        {
            var page = chunk.Slice(offset, blockSize);
            var state = _pages.Check(page, _pageIndex, out var header);
            switch (state)
            {
                case PageState.Problem:
                    Stop(_pages.Problem);
                    return;
                case PageState.EndOfData:
                    _stopped = true;
                    return;
                case PageState.Zero:
                    if (_records is { InRecord: true } open && !_expect.IsPartial)
                    {
                        Stop(new SegmentProblem("record_invalid",
                            $"the record at {Lsn.Format(open.RecordLsn)} continues into an empty page", open.RecordLsn));
                        return;
                    }

                    continue;
                default:
                    break;
            }

            if (_records is not null)
            {
                _records.FeedPage(page, header, _expect.StartLsn + ((ulong)_pageIndex * (ulong)blockSize));
                if (_records.End == RecordScanEnd.Invalid)
                {
                    if (_expect.IsPartial)
                    {
                        // A torn record at the end of a partial segment is where its WAL ends.
                        _records = null;
                        _stopped = true;
                        return;
                    }

                    Stop(_records.Problem);
                    return;
                }
            }
        }
    }

    /// <summary>The result once the whole file was fed (or scanning stopped).</summary>
    public SegmentScanResult Complete()
    {
        var pages = _pages;
        if (_problem is null && !_stopped && _fed != (long)_expect.SegmentSize && !_expect.IsPartial)
        {
            _problem = _fed < (long)_expect.SegmentSize
                ? new SegmentProblem("segment_truncated", string.Create(CultureInfo.InvariantCulture,
                    $"{_fed} bytes, but wal_segment_size is {_expect.SegmentSize}: the segment is truncated"), _expect.StartLsn + (ulong)_fed)
                : new SegmentProblem("segment_size_mismatch", string.Create(CultureInfo.InvariantCulture,
                    $"{_fed} bytes, more than wal_segment_size ({_expect.SegmentSize})"), _expect.StartLsn);
        }

        if (_problem is null && pages is null)
        {
            _problem = new SegmentProblem("segment_truncated", "the file is empty", _expect.StartLsn);
        }

        ulong? endOfWal = pages?.EndOfData;
        var records = _records;
        if (_problem is null && records is not null && !_expect.IsPartial && records.End == RecordScanEnd.Zero)
        {
            // A complete segment is written to its end, or ends with XLOG_SWITCH and zeroed padding.
            _problem = new SegmentProblem("record_invalid",
                $"WAL stops at {Lsn.Format(records.EndLsn)} without a switch record, before the end of the segment", records.EndLsn);
        }

        if (records is not null && records.End is RecordScanEnd.Zero or RecordScanEnd.Switch)
        {
            endOfWal = records.EndLsn;
        }

        endOfWal ??= pages?.FirstZeroPage;
        return new SegmentScanResult
        {
            Problem = _problem,
            Length = _fed,
            CarriedIn = pages?.CarriedIn ?? 0,
            CarryOut = pages?.CarryOut ?? 0,
            SystemIdentifier = pages?.SystemIdentifier,
            Magic = pages?.Magic ?? 0,
            Deep = _deep && _problem is null && records is not null && (!records.InRecord || _expect.IsPartial),
            ContinuesIntoNext = _deep && _problem is null && !_expect.IsPartial && records is not null && records.InRecord,
            Records = records?.Records ?? 0,
            EndOfWal = endOfWal,
        };
    }

    private int ChooseBlockSize(ReadOnlySpan<byte> firstChunk)
    {
        if (_expect.BlockSize is { } configured)
        {
            return configured;
        }

        if (firstChunk.Length >= WalFormat.LongHeaderSize)
        {
            var header = WalPageHeader.Read(firstChunk);
            if (header.IsLong && WalFormat.IsValidBlockSize(header.BlockSize))
            {
                return (int)header.BlockSize;
            }
        }

        return WalFormat.DefaultBlockSize;
    }

    private void Stop(SegmentProblem? problem)
    {
        _problem ??= problem;
        _stopped = true;
    }
}
