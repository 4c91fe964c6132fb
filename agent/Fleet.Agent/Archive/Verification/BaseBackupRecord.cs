using Fleet.Agent.Archive.Wal;

namespace Fleet.Agent.Archive.Verification;

/// <summary>Outcome of pg_verifybackup on one base backup.</summary>
internal sealed record BackupCheck(bool Succeeded, string Message);

/// <summary>A base backup found in Archive:BaseBackupDirectory (one sub-directory per backup).</summary>
/// <param name="Name">Directory name.</param>
/// <param name="StartLsn">From backup_label or the manifest's WAL-Ranges; null if neither could be read.</param>
/// <param name="Timeline">Start timeline.</param>
/// <param name="FinishedAt">When it finished: backup_manifest's (else backup_label's) modification time.</param>
/// <param name="Label">LABEL from backup_label, if any.</param>
/// <param name="HasManifest">A backup_manifest exists.</param>
/// <param name="Check">pg_verifybackup's verdict; null when it was not run (no manifest, tar format, tool missing).</param>
/// <param name="Unverified">Why pg_verifybackup was not run, when it was not.</param>
internal sealed record BaseBackupRecord(
    string Name,
    ulong? StartLsn,
    uint Timeline,
    DateTimeOffset FinishedAt,
    string Label,
    bool HasManifest,
    BackupCheck? Check,
    string? Unverified);

/// <summary>A backup history file (.backup) of the archive, parsed.</summary>
internal sealed record ArchivedBackupLabel(ArchiveFile File, BackupLabel Label);
