namespace Fleet.Agent.Archive.Wal;

/// <summary>Finishes a record that continues from one segment into the next, from the next segment's first pages.</summary>
internal static class RecordContinuation
{
    /// <summary>
    /// Feeds whole pages of the next segment (starting at its first page) to <paramref name="checker"/> until
    /// the open record is complete or fails. Returns true when it is resolved; false if more pages are needed.
    /// </summary>
    public static bool Feed(WalRecordChecker checker, ReadOnlySpan<byte> chunk, ulong chunkLsn, int blockSize)
    {
        checker.ContinuationOnly = true;
        for (var offset = 0; offset + blockSize <= chunk.Length; offset += blockSize)
        {
            if (!checker.InRecord || checker.End != RecordScanEnd.None)
            {
                return true;
            }

            var page = chunk.Slice(offset, blockSize);
            checker.FeedPage(page, WalPageHeader.Read(page), chunkLsn + (ulong)offset);
        }

        return !checker.InRecord || checker.End != RecordScanEnd.None;
    }
}
