using System.Buffers.Binary;

namespace Fleet.Agent.Archive.Wal;

/// <summary>
/// XLogPageHeaderData (24 bytes) and, on a segment's first page, XLogLongPageHeaderData (40 bytes):
/// @0 xlp_magic u16, @2 xlp_info u16, @4 xlp_tli u32, @8 xlp_pageaddr u64, @16 xlp_rem_len u32;
/// long: @24 xlp_sysid u64, @32 xlp_seg_size u32, @36 xlp_xlog_blcksz u32.
/// </summary>
internal readonly struct WalPageHeader
{
    private WalPageHeader(ReadOnlySpan<byte> page)
    {
        Magic = BinaryPrimitives.ReadUInt16LittleEndian(page);
        Info = BinaryPrimitives.ReadUInt16LittleEndian(page[2..]);
        Timeline = BinaryPrimitives.ReadUInt32LittleEndian(page[4..]);
        PageAddress = BinaryPrimitives.ReadUInt64LittleEndian(page[8..]);
        RemainingLength = BinaryPrimitives.ReadUInt32LittleEndian(page[16..]);
        if ((Info & WalFormat.LongHeader) != 0 && page.Length >= WalFormat.LongHeaderSize)
        {
            SystemIdentifier = BinaryPrimitives.ReadUInt64LittleEndian(page[24..]);
            SegmentSize = BinaryPrimitives.ReadUInt32LittleEndian(page[32..]);
            BlockSize = BinaryPrimitives.ReadUInt32LittleEndian(page[36..]);
        }
    }

    public ushort Magic { get; }

    public ushort Info { get; }

    public uint Timeline { get; }

    public ulong PageAddress { get; }

    public uint RemainingLength { get; }

    public ulong SystemIdentifier { get; }

    public uint SegmentSize { get; }

    public uint BlockSize { get; }

    public bool IsLong => (Info & WalFormat.LongHeader) != 0;

    public bool IsContinuation => (Info & WalFormat.FirstIsContRecord) != 0;

    public bool IsOverwriteContinuation => (Info & WalFormat.FirstIsOverwriteContRecord) != 0;

    /// <summary>Size of the header on the page; record data starts right after it.</summary>
    public int Size => IsLong ? WalFormat.LongHeaderSize : WalFormat.ShortHeaderSize;

    /// <summary>An all-zero header: a page never written (the rest of a segment after XLOG_SWITCH is zeroed).</summary>
    public bool IsZero => Magic == 0 && Info == 0 && Timeline == 0 && PageAddress == 0 && RemainingLength == 0;

    /// <summary>Reads the header at the start of <paramref name="page"/> (at least 24 bytes; 40 for a long header).</summary>
    public static WalPageHeader Read(ReadOnlySpan<byte> page)
    {
        if (page.Length < WalFormat.ShortHeaderSize)
        {
            throw new ArgumentException("A WAL page header needs 24 bytes.", nameof(page));
        }

        return new WalPageHeader(page);
    }
}
