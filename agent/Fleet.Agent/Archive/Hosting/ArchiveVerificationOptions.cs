namespace Fleet.Agent.Archive.Hosting;

/// <summary>
/// How the agent verifies its WAL archive; bound from the same "Archive" section as ArchiveOptions (Location,
/// Region). docs/archive-verification.md lists every key.
/// </summary>
internal sealed class ArchiveVerificationOptions
{
    /// <summary>How often the archive is verified (page headers of new segments, continuity, node checks).</summary>
    public TimeSpan VerifyInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often a verification also checks every record's CRC-32C; zero (the default) never does so periodically.</summary>
    public TimeSpan DeepVerifyInterval { get; set; } = TimeSpan.Zero;

    /// <summary>Time since the newest archived segment above which unarchived WAL is a warning.</summary>
    public TimeSpan RpoThreshold { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Completed segments not yet archived above which the archive is lagging.</summary>
    public int MaxLagSegments { get; set; } = 8;

    /// <summary>The newest base backup must be younger than this; zero disables the check.</summary>
    public TimeSpan MaxBaseBackupAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Directory of plain-format base backups (one sub-directory each, e.g. from pg_basebackup -D); checked with pg_verifybackup.</summary>
    public string? BaseBackupDirectory { get; set; }

    /// <summary>Limit for one pg_verifybackup run.</summary>
    public TimeSpan BaseBackupVerifyTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Check continuity from this LSN or segment name instead of the oldest base backup's start.</summary>
    public string? VerifyFrom { get; set; }

    /// <summary>Segments (NAME or FIRST-LAST) known to be lost: reported as information, not failure.</summary>
    public List<string> AcknowledgedMissing { get; set; } = [];

    /// <summary>Segments read at once; two uses both cores of a small node.</summary>
    public int Parallelism { get; set; } = 2;

    /// <summary>File that keeps verified-segment results across restarts; empty keeps them in memory only.</summary>
    public string? CacheFile { get; set; }
}
