namespace Fleet.Agent.Archive.Wal;

/// <summary>What one archived segment file must look like.</summary>
/// <param name="Name">The file name, for messages.</param>
/// <param name="Timeline">Timeline in the file name.</param>
/// <param name="SegmentNumber">Segment number from the file name.</param>
/// <param name="SegmentSize">wal_segment_size.</param>
/// <param name="BlockSize">XLOG_BLCKSZ (wal_block_size); null to take it from the first page.</param>
/// <param name="Magic">XLOG_PAGE_MAGIC of the server's major version; null to accept any known one (consistently).</param>
/// <param name="SystemIdentifier">The cluster's system identifier; null if unknown.</param>
/// <param name="History">Ancestry of <paramref name="Timeline"/>: which timeline may have written which WAL.</param>
/// <param name="IsPartial">A .partial file: WAL ends somewhere inside, and what follows is leftover.</param>
internal sealed record SegmentExpectation(
    string Name,
    uint Timeline,
    ulong SegmentNumber,
    ulong SegmentSize,
    int? BlockSize,
    ushort? Magic,
    ulong? SystemIdentifier,
    TimelineHistory History,
    bool IsPartial)
{
    public ulong StartLsn => SegmentNumber * SegmentSize;
}
