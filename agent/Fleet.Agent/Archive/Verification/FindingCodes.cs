namespace Fleet.Agent.Archive.Verification;

/// <summary>Stable finding codes of WAL archive verification; docs/archive-verification.md explains each.</summary>
internal static class FindingCodes
{
    public const string ArchiveUnreachable = "archive_unreachable";
    public const string ArchiveEmpty = "archive_empty";
    public const string ArchiveOutOfRegion = "archive_out_of_region";
    public const string ArchiveRegionUnset = "archive_region_unset";
    public const string SegmentMissing = "segment_missing";
    public const string SegmentTruncated = "segment_truncated";
    public const string SegmentSizeMismatch = "segment_size_mismatch";
    public const string SegmentUnreadable = "segment_unreadable";
    public const string SegmentUnverifiable = "segment_unverifiable";
    public const string SegmentDuplicate = "segment_duplicate";
    public const string PageMagicMismatch = "page_magic_mismatch";
    public const string PageAddressMismatch = "page_address_mismatch";
    public const string PageHeaderInvalid = "page_header_invalid";
    public const string SysidMismatch = "sysid_mismatch";
    public const string TimelineMismatch = "timeline_mismatch";
    public const string TimelineDiverged = "timeline_diverged";
    public const string HistoryMissing = "history_missing";
    public const string HistoryInvalid = "history_invalid";
    public const string RecordCrcMismatch = "record_crc_mismatch";
    public const string RecordInvalid = "record_invalid";
    public const string PartialSegment = "partial_segment";
    public const string UnexpectedFile = "unexpected_file";
    public const string ArchiveCommandFailing = "archive_command_failing";
    public const string ArchivingDisabled = "archiving_disabled";
    public const string ArchiveLag = "archive_lag";
    public const string RpoExposureHigh = "rpo_exposure_high";
    public const string BaseBackupMissing = "basebackup_missing";
    public const string BaseBackupStale = "basebackup_stale";
    public const string BaseBackupInvalid = "basebackup_invalid";
    public const string BaseBackupUnverified = "basebackup_unverified";
    public const string ServerUnknown = "server_unknown";
    public const string VerificationError = "verification_error";
}
