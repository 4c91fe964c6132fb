using System.Buffers.Binary;

namespace Fleet.Agent.Archive.Wal;

/// <summary>How record checking of a stretch of WAL ended.</summary>
internal enum RecordScanEnd
{
    /// <summary>Still going: the last record is complete or continues on the next page.</summary>
    None,

    /// <summary>An XLOG_SWITCH record: the rest of the segment is padding.</summary>
    Switch,

    /// <summary>xl_tot_len 0 where a record should start: no more WAL was written here.</summary>
    Zero,

    /// <summary>A record failed validation (<see cref="WalRecordChecker.Problem"/> says how).</summary>
    Invalid,
}

/// <summary>
/// Validates every XLogRecord of a stretch of WAL fed to it page by page, as xlogreader.c does: xl_tot_len
/// sane, the record's CRC-32C (over bytes [24, xl_tot_len) then header bytes [0, 20)), xl_prev pointing at the
/// previous record, and the continuation of records spanning pages (XLP_FIRST_IS_CONTRECORD with
/// xlp_rem_len equal to what is left). Records start MAXALIGNed; headers may be split across pages.
/// Stops at the first problem, at an XLOG_SWITCH, or where no more WAL was written.
/// </summary>
internal sealed class WalRecordChecker
{
    private readonly byte[] _header = new byte[WalFormat.RecordHeaderSize];
    private readonly int _blockSize;
    private ulong _skipRemaining;
    private bool _skipPending;
    private bool _inRecord;
    private int _headerGot;
    private uint _totalLength;
    private uint _got;
    private uint _crc;
    private ulong _recordLsn;
    private ulong _previousLsn;

    /// <param name="blockSize">XLOG_BLCKSZ.</param>
    /// <param name="startsMidStream">
    /// True when the first page fed is the start of a segment checked on its own: data continuing a record
    /// from the previous segment (xlp_rem_len bytes) is skipped; that record is checked with the previous segment.
    /// </param>
    public WalRecordChecker(int blockSize, bool startsMidStream)
    {
        _blockSize = blockSize;
        _skipPending = startsMidStream;
    }

    public RecordScanEnd End { get; private set; }

    /// <summary>Set when <see cref="End"/> is <see cref="RecordScanEnd.Invalid"/>.</summary>
    public SegmentProblem? Problem { get; private set; }

    /// <summary>True while a record continues beyond the last page fed.</summary>
    public bool InRecord => _inRecord;

    /// <summary>Start of the record being read, or of the last one completed.</summary>
    public ulong RecordLsn => _recordLsn;

    /// <summary>Where the checked WAL ends: after the switch record, or where a record should have started.</summary>
    public ulong EndLsn { get; private set; }

    /// <summary>
    /// Set when feeding the next segment only to finish the record that continues into it: checking stops
    /// once that record is complete (the next segment's own scan checks the records starting there).
    /// </summary>
    public bool ContinuationOnly { get; set; }

    /// <summary>Records whose CRC was verified.</summary>
    public int Records { get; private set; }

    /// <summary>Feeds the next page (XLOG_BLCKSZ bytes, header already validated by the caller).</summary>
    public void FeedPage(ReadOnlySpan<byte> page, in WalPageHeader header, ulong pageAddress)
    {
        if (End != RecordScanEnd.None)
        {
            return;
        }

        var offset = header.Size;
        var justStarted = _skipPending;
        if (_skipPending)
        {
            _skipPending = false;
            _skipRemaining = header.IsContinuation ? header.RemainingLength : 0;
        }

        if (_skipRemaining > 0)
        {
            var skip = (int)Math.Min(_skipRemaining, (ulong)(_blockSize - offset));
            _skipRemaining -= (ulong)skip;
            offset += skip;
            if (_skipRemaining > 0)
            {
                return;
            }

            offset = WalFormat.Align(offset);
        }
        else if (!_inRecord && header.IsContinuation && !justStarted)
        {
            Fail("record_invalid", pageAddress, $"the page at {Lsn.Format(pageAddress)} continues a record (xlp_rem_len {header.RemainingLength}), but no record is open");
            return;
        }
        else if (_inRecord)
        {
            if (header.IsOverwriteContinuation)
            {
                // PostgreSQL 15+: the incomplete record was abandoned (crash before its continuation was
                // written) and an XLOG_OVERWRITE_CONTRECORD starts right after this header.
                _inRecord = false;
            }
            else
            {
                var remaining = _totalLength - _got;
                if (!header.IsContinuation || header.RemainingLength != remaining)
                {
                    Fail("record_invalid", _recordLsn, header.IsContinuation
                        ? $"record at {Lsn.Format(_recordLsn)} has {remaining} bytes left, but the page at {Lsn.Format(pageAddress)} continues {header.RemainingLength} (xlp_rem_len)"
                        : $"record at {Lsn.Format(_recordLsn)} has {remaining} bytes left, but the page at {Lsn.Format(pageAddress)} does not continue it (no XLP_FIRST_IS_CONTRECORD)");
                    return;
                }

                var take = (int)Math.Min(remaining, (uint)(_blockSize - offset));
                Consume(page.Slice(offset, take));
                offset += take;
                if (_got < _totalLength)
                {
                    return;
                }

                Complete();
                offset = WalFormat.Align(offset);
                if (ContinuationOnly)
                {
                    return;
                }
            }
        }

        while (End == RecordScanEnd.None && offset < _blockSize)
        {
            var lsn = pageAddress + (ulong)offset;
            var totalLength = BinaryPrimitives.ReadUInt32LittleEndian(page[offset..]);
            if (totalLength == 0)
            {
                End = RecordScanEnd.Zero;
                EndLsn = lsn;
                return;
            }

            if (totalLength < WalFormat.RecordHeaderSize || totalLength > WalFormat.MaxRecordLength)
            {
                Fail("record_invalid", lsn, $"invalid record length {totalLength} at {Lsn.Format(lsn)}");
                return;
            }

            if (totalLength <= (uint)(_blockSize - offset))
            {
                // Fast path (most records): the whole record is on this page; no copying.
                var record = page.Slice(offset, (int)totalLength);
                _recordLsn = lsn;
                _totalLength = totalLength;
                Complete(record[..WalFormat.RecordHeaderSize], WalCrc.Update(WalCrc.Initial, record[WalFormat.RecordHeaderSize..]));
                offset = WalFormat.Align(offset + (int)totalLength);
                continue;
            }

            _recordLsn = lsn;
            _totalLength = totalLength;
            _got = 0;
            _headerGot = 0;
            _crc = WalCrc.Initial;
            _inRecord = true;
            var take = (int)Math.Min(totalLength, (uint)(_blockSize - offset));
            Consume(page.Slice(offset, take));
            offset += take;
            if (_got < _totalLength)
            {
                return;
            }

            Complete();
            offset = WalFormat.Align(offset);
        }
    }

    private void Consume(ReadOnlySpan<byte> data)
    {
        _got += (uint)data.Length;
        if (_headerGot < WalFormat.RecordHeaderSize)
        {
            var n = Math.Min(WalFormat.RecordHeaderSize - _headerGot, data.Length);
            data[..n].CopyTo(_header.AsSpan(_headerGot));
            _headerGot += n;
            data = data[n..];
        }

        _crc = WalCrc.Update(_crc, data);
    }

    private void Complete() => Complete(_header, _crc);

    /// <summary>Finishes a record whose payload CRC is <paramref name="crc"/>: header CRC, xl_prev, XLOG_SWITCH.</summary>
    private void Complete(ReadOnlySpan<byte> header, uint crc)
    {
        _inRecord = false;
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(header[WalFormat.RecordCrcOffset..]);
        var actual = WalCrc.Finish(WalCrc.UpdateRecordHeader(crc, header));
        if (actual != expected)
        {
            Fail("record_crc_mismatch", _recordLsn,
                $"record at {Lsn.Format(_recordLsn)} (xl_tot_len {_totalLength}): CRC-32C is 0x{actual:X8}, xl_crc says 0x{expected:X8}");
            return;
        }

        var previous = BinaryPrimitives.ReadUInt64LittleEndian(header[8..]);
        if (_previousLsn != 0 && previous != _previousLsn)
        {
            Fail("record_invalid", _recordLsn,
                $"record at {Lsn.Format(_recordLsn)} points back to {Lsn.Format(previous)} (xl_prev), but the previous record is at {Lsn.Format(_previousLsn)}");
            return;
        }

        _previousLsn = _recordLsn;
        Records++;
        var info = header[16];
        var resourceManager = header[17];
        if (resourceManager == WalFormat.XlogResourceManager && (info & 0xF0) == WalFormat.XlogSwitch)
        {
            End = RecordScanEnd.Switch;
            EndLsn = _recordLsn + _totalLength;
        }
    }

    private void Fail(string code, ulong lsn, string message)
    {
        End = RecordScanEnd.Invalid;
        EndLsn = lsn;
        _inRecord = false;
        Problem = new SegmentProblem(code, message, lsn);
    }
}

/// <summary>A problem found in one archive file, before a severity is attached.</summary>
internal readonly record struct SegmentProblem(string Code, string Message, ulong Lsn);
