using System.Buffers.Binary;
using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Tests.Archive;

/// <summary>
/// Writes synthetic WAL byte for byte as PostgreSQL lays it out: page headers (long on a segment's first
/// page), MAXALIGNed records with xl_prev chains and CRC-32C, records split across pages and segments
/// (XLP_FIRST_IS_CONTRECORD + xlp_rem_len), XLOG_SWITCH with a zeroed rest. For unit tests of the checks.
/// </summary>
internal sealed class WalBuilder(ulong systemIdentifier, uint timeline = 1, ulong segmentSize = 1024 * 1024, int blockSize = 8192, ushort magic = 0xD110)
{
    private readonly Dictionary<ulong, byte[]> _segments = [];
    private ulong _previous;

    public ulong SegmentSize => segmentSize;

    public int BlockSize => blockSize;

    /// <summary>Insert position (the next byte written).</summary>
    public ulong Position { get; private set; }

    /// <summary>Timeline written into page headers from now on.</summary>
    public uint Timeline { get; set; } = timeline;

    /// <summary>Starts writing at the beginning of <paramref name="segment"/>.</summary>
    public WalBuilder StartAt(ulong segment)
    {
        Position = segment * segmentSize;
        return this;
    }

    /// <summary>Appends a record with <paramref name="dataLength"/> bytes of data; returns its LSN.</summary>
    public ulong Add(int dataLength, byte resourceManager = 10, byte info = 0, byte fill = 0x5A)
    {
        Align();
        if (Position % (ulong)blockSize == 0)
        {
            WritePageHeader(0);
        }

        var start = Position;
        var record = new byte[WalFormat.RecordHeaderSize + dataLength];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)record.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), 1234);
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(8), _previous);
        record[16] = info;
        record[17] = resourceManager;
        for (var i = WalFormat.RecordHeaderSize; i < record.Length; i++)
        {
            record[i] = (byte)(fill + i);
        }

        var crc = WalCrc.Update(WalCrc.Initial, record.AsSpan(WalFormat.RecordHeaderSize));
        crc = WalCrc.Finish(WalCrc.Update(crc, record.AsSpan(0, WalFormat.RecordCrcOffset)));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(WalFormat.RecordCrcOffset), crc);
        Write(record);
        _previous = start;
        return start;
    }

    /// <summary>XLOG_SWITCH: the rest of the segment stays zero (PostgreSQL 14+).</summary>
    public ulong Switch()
    {
        var lsn = Add(0, WalFormat.XlogResourceManager, WalFormat.XlogSwitch);
        Position = ((Position + segmentSize - 1) / segmentSize) * segmentSize;
        return lsn;
    }

    /// <summary>Adds records so that exactly <paramref name="bytes"/> (a multiple of 8) remain on the current page.</summary>
    public void FillPageUntil(int bytes)
    {
        while (true)
        {
            Align();
            var left = blockSize - (int)(Position % (ulong)blockSize);
            if (left == blockSize)
            {
                left -= Position % segmentSize == 0 ? WalFormat.LongHeaderSize : WalFormat.ShortHeaderSize;
            }

            var data = left - bytes - WalFormat.RecordHeaderSize;
            if (data is >= 0 and <= 4000)
            {
                Add(data);
                return;
            }

            Add(data < 0 ? 100 : 2000);
        }
    }

    public byte[] Segment(ulong segment) => _segments.TryGetValue(segment, out var bytes) ? bytes : new byte[segmentSize];

    public string Name(ulong segment) => WalFileName.FormatSegment(Timeline, segment, segmentSize);

    /// <summary>Writes every segment touched into <paramref name="directory"/> under its timeline's name.</summary>
    public void WriteTo(string directory, uint? timelineInName = null)
    {
        foreach (var (segment, bytes) in _segments)
        {
            File.WriteAllBytes(Path.Combine(directory, WalFileName.FormatSegment(timelineInName ?? Timeline, segment, segmentSize)), bytes);
        }
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        var remaining = data.Length;
        var offset = 0;
        while (remaining > 0)
        {
            if (Position % (ulong)blockSize == 0)
            {
                WritePageHeader((uint)remaining);
            }

            var room = blockSize - (int)(Position % (ulong)blockSize);
            var n = Math.Min(room, remaining);
            data.Slice(offset, n).CopyTo(Page(Position));
            Position += (ulong)n;
            offset += n;
            remaining -= n;
        }
    }

    private void WritePageHeader(uint continuing)
    {
        var page = Page(Position);
        var isLong = Position % segmentSize == 0;
        ushort info = isLong ? WalFormat.LongHeader : (ushort)0;
        if (continuing > 0)
        {
            info |= WalFormat.FirstIsContRecord;
        }

        BinaryPrimitives.WriteUInt16LittleEndian(page, magic);
        BinaryPrimitives.WriteUInt16LittleEndian(page[2..], info);
        BinaryPrimitives.WriteUInt32LittleEndian(page[4..], Timeline);
        BinaryPrimitives.WriteUInt64LittleEndian(page[8..], Position);
        BinaryPrimitives.WriteUInt32LittleEndian(page[16..], continuing);
        if (isLong)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(page[24..], systemIdentifier);
            BinaryPrimitives.WriteUInt32LittleEndian(page[32..], (uint)segmentSize);
            BinaryPrimitives.WriteUInt32LittleEndian(page[36..], (uint)blockSize);
        }

        Position += (ulong)(isLong ? WalFormat.LongHeaderSize : WalFormat.ShortHeaderSize);
    }

    private void Align() => Position = (Position + 7) & ~7UL;

    private Span<byte> Page(ulong position)
    {
        var segment = position / segmentSize;
        if (!_segments.TryGetValue(segment, out var bytes))
        {
            bytes = new byte[segmentSize];
            _segments[segment] = bytes;
        }

        return bytes.AsSpan((int)(position % segmentSize));
    }
}
