using Fleet.Protos.V1;

namespace Fleet.Agent.Archive.Verification;

/// <summary>Progress of a running verification.</summary>
internal readonly record struct VerificationProgress(
    ulong SegmentsDone, ulong SegmentsTotal, ulong BytesDone, ulong BytesTotal, string CurrentSegment);

/// <summary>A verification's status plus what it cost (for logs, tests and the benchmark).</summary>
internal sealed record VerificationOutcome(ArchiveStatus Status, int FilesRead, long BytesRead, int SegmentsFromCache);

/// <summary>Base backups kept outside the WAL archive (Archive:BaseBackupDirectory).</summary>
internal interface IBaseBackupSource
{
    /// <summary>The base backups found, each checked with pg_verifybackup where possible.</summary>
    Task<IReadOnlyList<BaseBackupRecord>> ScanAsync(CancellationToken cancellationToken);
}
