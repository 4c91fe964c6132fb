using System.Globalization;

namespace Fleet.Agent.Archive.Wal;

/// <summary>What an archive file is, from its name.</summary>
internal enum WalFileKind
{
    /// <summary>A WAL segment, <c>TTTTTTTTLLLLLLLLSSSSSSSS</c>.</summary>
    Segment,

    /// <summary>A partial segment, <c>&lt;segment&gt;.partial</c>: the last one of a timeline left at promotion, or pg_receivewal's current one.</summary>
    Partial,

    /// <summary>A timeline history file, <c>TTTTTTTT.history</c>.</summary>
    History,

    /// <summary>A backup history file, <c>&lt;segment&gt;.OOOOOOOO.backup</c>, written by pg_backup_stop.</summary>
    BackupHistory,
}

/// <summary>How an archive file is compressed, from its name's suffix.</summary>
internal enum WalCompression
{
    None,

    /// <summary>".gz" (archive_command = 'gzip &lt; %p &gt; /archive/%f.gz').</summary>
    Gzip,

    /// <summary>".zst", ".lz4", ".bz2", ".xz": recognised (so continuity holds) but not decoded.</summary>
    Unsupported,
}

/// <summary>
/// A parsed archive file name (xlog_internal.h): the timeline, and for segment-based names the log and
/// segment halves of the segment number. The segment number itself depends on wal_segment_size, so it is
/// computed by <see cref="SegmentNumber"/> once that is known.
/// </summary>
internal readonly record struct WalFileName(
    string Name, WalFileKind Kind, uint Timeline, uint Log, uint Segment, uint BackupOffset, WalCompression Compression)
{
    /// <summary>Name without the compression suffix, e.g. "000000010000000000000003.partial".</summary>
    public string BaseName => Compression == WalCompression.None ? Name : Name[..Name.LastIndexOf('.')];

    /// <summary>The segment number (XLogSegNo) for <paramref name="segmentSize"/>; null if the name's segment half is out of range for it.</summary>
    public ulong? SegmentNumber(ulong segmentSize)
    {
        var perLog = SegmentsPerLog(segmentSize);
        return Segment >= perLog ? null : (Log * perLog) + Segment;
    }

    /// <summary>The 24-character segment name this file belongs to (segments, partials, backup histories).</summary>
    public string SegmentName => Kind == WalFileKind.History
        ? throw new InvalidOperationException("A history file belongs to no segment.")
        : Name[..24];

    /// <summary>Segments per 4 GiB "log" (XLogSegmentsPerXLogId).</summary>
    public static ulong SegmentsPerLog(ulong segmentSize) => 0x1_0000_0000UL / segmentSize;

    /// <summary>XLogFileName: the segment file holding <paramref name="segmentNumber"/> on <paramref name="timeline"/>.</summary>
    public static string FormatSegment(uint timeline, ulong segmentNumber, ulong segmentSize)
    {
        var perLog = SegmentsPerLog(segmentSize);
        return string.Create(CultureInfo.InvariantCulture, $"{timeline:X8}{(uint)(segmentNumber / perLog):X8}{(uint)(segmentNumber % perLog):X8}");
    }

    /// <summary>TLHistoryFileName: "TTTTTTTT.history".</summary>
    public static string FormatHistory(uint timeline) =>
        string.Create(CultureInfo.InvariantCulture, $"{timeline:X8}.history");

    public static bool TryParse(string name, out WalFileName result)
    {
        result = default;
        var compression = WalCompression.None;
        var span = name.AsSpan();
        var dot = span.LastIndexOf('.');
        if (dot > 0)
        {
            var suffix = span[(dot + 1)..];
            compression = suffix switch
            {
                "gz" => WalCompression.Gzip,
                "zst" or "lz4" or "bz2" or "xz" => WalCompression.Unsupported,
                _ => WalCompression.None,
            };
            if (compression != WalCompression.None)
            {
                span = span[..dot];
            }
        }

        if (span.Length == 24 && IsHex(span))
        {
            result = new WalFileName(name, WalFileKind.Segment, Hex(span[..8]), Hex(span[8..16]), Hex(span[16..24]), 0, compression);
            return true;
        }

        if (span.Length == 32 && span.EndsWith(".partial", StringComparison.Ordinal) && IsHex(span[..24]))
        {
            result = new WalFileName(name, WalFileKind.Partial, Hex(span[..8]), Hex(span[8..16]), Hex(span[16..24]), 0, compression);
            return true;
        }

        if (span.Length == 16 && span.EndsWith(".history", StringComparison.Ordinal) && IsHex(span[..8]))
        {
            result = new WalFileName(name, WalFileKind.History, Hex(span[..8]), 0, 0, 0, compression);
            return true;
        }

        if (span.Length == 40 && span[24] == '.' && span.EndsWith(".backup", StringComparison.Ordinal) && IsHex(span[..24]) && IsHex(span[25..33]))
        {
            result = new WalFileName(name, WalFileKind.BackupHistory, Hex(span[..8]), Hex(span[8..16]), Hex(span[16..24]), Hex(span[25..33]), compression);
            return true;
        }

        return false;
    }

    // PostgreSQL writes upper-case hex only (IsXLogFileName); lower case is not a WAL file name.
    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'A' and <= 'F')))
            {
                return false;
            }
        }

        return true;
    }

    private static uint Hex(ReadOnlySpan<char> text) => uint.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
