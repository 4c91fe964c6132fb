namespace Fleet.Agent.Archive.Verification;

/// <summary>The configuration one verification runs with (from AgentOptions and ArchiveVerificationOptions).</summary>
internal sealed record ArchiveSettings
{
    /// <summary>Node:Region.</summary>
    public string NodeRegion { get; init; } = string.Empty;

    /// <summary>Archive:Region; empty when not configured.</summary>
    public string ArchiveRegion { get; init; } = string.Empty;

    /// <summary>RPO exposure above this is a warning (Archive:RpoThreshold).</summary>
    public TimeSpan RpoThreshold { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>More completed-but-unarchived segments than this is a warning (Archive:MaxLagSegments).</summary>
    public int MaxLagSegments { get; init; } = 8;

    /// <summary>A newest base backup older than this is stale (Archive:MaxBaseBackupAge); zero disables the check.</summary>
    public TimeSpan MaxBaseBackupAge { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Continuity is checked from here (Archive:VerifyFrom: an LSN or segment name) instead of the oldest base backup.</summary>
    public string? VerifyFrom { get; init; }

    /// <summary>Archive:AcknowledgedMissing.</summary>
    public AcknowledgedSegments Acknowledged { get; init; } = AcknowledgedSegments.None;
}
