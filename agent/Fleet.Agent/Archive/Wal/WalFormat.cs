namespace Fleet.Agent.Archive.Wal;

/// <summary>
/// Constants of PostgreSQL's WAL format (src/include/access/xlog_internal.h, xlogrecord.h, pg_control.h).
/// Multi-byte fields are in the server's byte order; Fleet reads them little-endian (x86-64, ARM64).
/// </summary>
internal static class WalFormat
{
    /// <summary>The record continuing from the previous page fills the start of this page (xlp_rem_len bytes).</summary>
    public const ushort FirstIsContRecord = 0x0001;

    /// <summary>The page has the long header (first page of a segment).</summary>
    public const ushort LongHeader = 0x0002;

    /// <summary>Backup blocks on this page are removable (informational).</summary>
    public const ushort BackupRemovable = 0x0004;

    /// <summary>PostgreSQL 15+: an incomplete record that continued onto this page was abandoned and overwritten.</summary>
    public const ushort FirstIsOverwriteContRecord = 0x0008;

    /// <summary>Every defined xlp_info flag (XLP_ALL_FLAGS of PostgreSQL 15+; earlier versions use a subset).</summary>
    public const ushort AllPageFlags = 0x000F;

    /// <summary>SizeOfXLogShortPHD: the short page header, MAXALIGNed.</summary>
    public const int ShortHeaderSize = 24;

    /// <summary>SizeOfXLogLongPHD: the long page header of a segment's first page, MAXALIGNed.</summary>
    public const int LongHeaderSize = 40;

    /// <summary>SizeOfXLogRecord: xl_tot_len, xl_xid, xl_prev, xl_info, xl_rmid, padding, xl_crc.</summary>
    public const int RecordHeaderSize = 24;

    /// <summary>offsetof(XLogRecord, xl_crc): the CRC covers the header up to here, after the payload.</summary>
    public const int RecordCrcOffset = 20;

    /// <summary>Records start on MAXALIGN (8-byte) boundaries.</summary>
    public const int MaxAlign = 8;

    /// <summary>Upper bound of xl_tot_len (XLogRecordMaxSize is 1020 MB; anything above 1 GiB is garbage).</summary>
    public const uint MaxRecordLength = 1024 * 1024 * 1024;

    /// <summary>RM_XLOG_ID, the resource manager of XLOG_SWITCH.</summary>
    public const byte XlogResourceManager = 0;

    /// <summary>XLOG_SWITCH in xl_info's high nibble: the rest of the segment is padding.</summary>
    public const byte XlogSwitch = 0x40;

    public const int DefaultBlockSize = 8192;

    private static readonly (int Major, ushort Magic)[] Magics =
    [
        (13, 0xD106), (14, 0xD10D), (15, 0xD110), (16, 0xD113), (17, 0xD116), (18, 0xD118),
    ];

    /// <summary>XLOG_PAGE_MAGIC of a major version; null for versions Fleet does not know.</summary>
    public static ushort? MagicForMajor(int major)
    {
        foreach (var (m, magic) in Magics)
        {
            if (m == major)
            {
                return magic;
            }
        }

        return null;
    }

    /// <summary>The major version that writes <paramref name="magic"/>; null if unknown.</summary>
    public static int? MajorForMagic(ushort magic)
    {
        foreach (var (major, m) in Magics)
        {
            if (m == magic)
            {
                return major;
            }
        }

        return null;
    }

    public static bool IsValidSegmentSize(ulong size) =>
        size is >= 1024 * 1024 and <= 1024 * 1024 * 1024 && (size & (size - 1)) == 0;

    public static bool IsValidBlockSize(long size) =>
        size is >= 1024 and <= 65536 && (size & (size - 1)) == 0;

    public static int Align(int offset) => (offset + MaxAlign - 1) & ~(MaxAlign - 1);
}
